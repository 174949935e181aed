"""The catalogue: real IAM permissions, an undo or the reason there is none, pure planning."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
import pytest
from fixes_helpers import ACCOUNT, CHECK_FOR

from noticedesk.aws.actions import ACTIONS, get_action, mask_secrets, propose
from noticedesk.aws.actions.permissions import fix_permissions, fix_policy
from noticedesk.aws.findings import Finding
from noticedesk.errors import NotFoundError

KEY = "AKIAIOSFODNN7EXAMPLE"


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def _service_model(service: str) -> Any:
    return _session().get_service_model(service)


@cache
def iam_action_names(prefixes: frozenset[str] = frozenset({"iam", "ec2", "rds", "ses"})) -> frozenset[str]:
    """``prefix:Operation`` from botocore: each service's signing name, then each of its operations.

    Only services whose name starts with a prefix in use are loaded (all 400 take 20 s); sesv2 signs
    as ``ses``, which is how ``ses:PutAccountSendingAttributes`` is found.
    """
    names: set[str] = set()
    for service in _session().get_available_services():
        if not service.startswith(tuple(prefixes)):
            continue
        model = _service_model(service)
        prefix = model.signing_name or model.endpoint_prefix
        names.update(f"{prefix}:{operation}" for operation in model.operation_names)
    return frozenset(names)


def test_only_the_prefixes_in_use_need_loading() -> None:
    assert {permission.split(":")[0] for action in ACTIONS for permission in action.permissions} <= {
        "iam",
        "ec2",
        "rds",
        "ses",
    }


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_every_permission_is_a_real_iam_action(action: object) -> None:
    from noticedesk.aws.actions.base import Action

    assert isinstance(action, Action)
    assert action.permissions
    unknown = [permission for permission in action.permissions if permission not in iam_action_names()]
    assert unknown == []


def test_the_permission_check_would_catch_a_typo() -> None:
    assert "ses:PutAccountSendingAttributes" in iam_action_names()
    assert "ec2:ModifySnapshotAttributes" not in iam_action_names()
    assert "sesv2:PutAccountSendingAttributes" not in iam_action_names()


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_every_action_has_an_undo_or_says_why_not(action: object) -> None:
    from noticedesk.aws.actions.base import Action

    assert isinstance(action, Action)
    assert len(action.undo_note) > 20
    if not action.reversible:
        assert action.undo_note.startswith("None:")


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_every_planned_call_is_a_real_operation_covered_by_the_permissions(action: object) -> None:
    from noticedesk.aws.actions.base import Action

    assert isinstance(action, Action)
    plan = action.plan(SAMPLE[action.resource_type if action.resource_type != "region" else "ami"], NOW)
    assert plan.action == action.name
    assert bool(plan.undo) == action.reversible
    for call in (*plan.calls, *plan.undo):
        model = _service_model(call.service)
        assert call.operation in model.operation_names
        assert f"{model.signing_name}:{call.operation}" in action.permissions
        assert "DryRun" not in call.params


def test_names_are_unique_and_looked_up() -> None:
    assert len({action.name for action in ACTIONS}) == len(ACTIONS)
    assert get_action("ami-make-private").resource_type == "ami"
    with pytest.raises(NotFoundError):
        get_action("make-everything-fine")


NOW = datetime.fromisoformat("2026-11-28T12:00:00+00:00")


def _finding(
    resource_type: str, resource_id: str, region: str | None = "us-east-1", **data: object
) -> Finding:
    check = str(data.pop("check", CHECK_FOR[resource_type]))
    return Finding(
        check, "fail", "high", ACCOUNT, region, resource_id, "d", {"resource_type": resource_type, **data}
    )


SAMPLE = {
    "access-key": _finding("access-key", KEY, None, access_key_id=KEY, user_name="ci-deployer"),
    "iam-user": _finding(
        "iam-user", "ci-deployer", None, check="quarantine-policy", user_name="ci-deployer",
        login_profile="2026-11-27T03:00:00+00:00",
        policy_arns=["arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"],
    ),
    "ami": _finding("ami", "ami-0123456789abcdef0", image_id="ami-0123456789abcdef0"),
    "ebs-snapshot": _finding("ebs-snapshot", "snap-0123456789abcdef0", snapshot_id="snap-0123456789abcdef0"),
    "rds-snapshot": _finding("rds-snapshot", "db-snap", snapshot_id="db-snap"),
    "rds-cluster-snapshot": _finding("rds-cluster-snapshot", "cluster-snap", snapshot_id="cluster-snap"),
    "instance": _finding(
        "instance", "i-0abc", "ap-northeast-1", check="instances", instance_id="i-0abc", unexpected=True
    ),
    "ses-account": _finding("ses-account", "ses", addresses=["gone@example.org"], suppressed_reasons=[]),
}  # fmt: skip


def test_propose_is_ordered_deduplicated_and_marks_defaults() -> None:
    findings = [
        SAMPLE["ami"],
        _finding("ami", "ami-1", image_id="ami-1"),
        SAMPLE["access-key"],
        SAMPLE["access-key"],
        _finding("ami", "ami-2"),
        Finding("c", "pass", "info", ACCOUNT, "us-east-1", "snap-9", "d", {"resource_type": "ebs-snapshot"}),
    ]
    plans = propose(findings, NOW)
    names = [(plan.action, plan.resource_id, plan.default) for plan in plans]
    assert names == [
        ("access-key-deactivate", KEY, True),
        ("access-key-rotate", KEY, False),
        ("access-key-delete", KEY, False),
        ("iam-user-revoke-sessions", "ci-deployer", True),
        ("ami-make-private", "ami-0123456789abcdef0", True),
        ("ami-make-private", "ami-1", True),
        ("ami-make-private", "ami-2", True),
        ("ami-block-public-access", "us-east-1", True),
    ]


def test_reported_instance_is_isolated_not_stopped_and_never_terminated() -> None:
    reported = _finding("instance", "i-1", "ap-northeast-1", instance_id="i-1")
    plans = {plan.action: plan.default for plan in propose([reported], NOW)}
    assert plans == {"instance-isolate": True, "instance-stop": False}
    unexpected = {plan.action: plan.default for plan in propose([SAMPLE["instance"]], NOW)}
    assert unexpected == {"instance-stop": True, "instance-terminate": False}
    # Flagged by the instances check only for being recent: worth a look, not a default stop.
    recent = _finding(
        "instance", "i-2", "ap-northeast-1", check="instances", instance_id="i-2", unexpected=False
    )
    assert {plan.action: plan.default for plan in propose([recent], NOW)} == {"instance-stop": False}


def test_a_miner_is_stopped_by_default_only_in_a_compromise_case() -> None:
    miner = SAMPLE["instance"]
    for kind, default in (("account-compromised", True), ("abuse-report", False), (None, True)):
        [stop] = [plan for plan in propose([miner], NOW, kind) if plan.action == "instance-stop"]
        assert stop.default is default, kind


def test_a_default_wins_when_two_checks_call_for_the_same_change() -> None:
    new_key = _finding(
        "access-key", KEY, None, check="persistence", access_key_id=KEY, user_name="u", status="Active"
    )
    named = _finding("access-key", KEY, None, access_key_id=KEY, user_name="u", status="Active")
    for findings in ([new_key, named], [named, new_key]):
        deactivate = [plan for plan in propose(findings, NOW) if plan.action == "access-key-deactivate"]
        assert [plan.default for plan in deactivate] == [True]
    assert [p.default for p in propose([new_key], NOW) if p.action == "access-key-deactivate"] == [False]


def test_block_public_access_findings_name_the_switch_by_what_it_covers() -> None:
    images = _finding("region", "us-east-1/images", setting="images", state="unblocked")
    snapshots = _finding("region", "us-east-1/snapshots", setting="snapshots", state="unblocked")
    assert [plan.action for plan in propose([images], NOW)] == ["ami-block-public-access"]
    assert [plan.action for plan in propose([snapshots], NOW)] == ["ebs-snapshot-block-public-access"]
    assert {plan.resource_id for plan in propose([images, snapshots], NOW)} == {"us-east-1"}


def test_ebs_snapshot_uses_the_operation_type_form() -> None:
    plan = get_action("ebs-snapshot-make-private").plan(SAMPLE["ebs-snapshot"], NOW)
    assert plan.calls[0].params == {
        "SnapshotId": "snap-0123456789abcdef0",
        "Attribute": "createVolumePermission",
        "OperationType": "remove",
        "GroupNames": ["all"],
    }
    assert "CreateVolumePermission" not in plan.calls[0].params


def test_revoke_sessions_denies_tokens_issued_before_the_plan_time() -> None:
    plan = get_action("iam-user-revoke-sessions").plan(SAMPLE["iam-user"], NOW)
    document = json.loads(plan.calls[0].params["PolicyDocument"])
    assert document["Statement"][0]["Condition"] == {
        "DateLessThan": {"aws:TokenIssueTime": "2026-11-28T12:00:00Z"}
    }


def test_aws_quarantine_policy_is_refused_other_policies_are_not() -> None:
    detach = get_action("detach-policy")
    plan = detach.plan(SAMPLE["iam-user"], NOW)
    reason = detach.refusal(plan)
    assert reason is not None and "AWSCompromisedKeyQuarantine" in reason
    other = _finding(
        "iam-user", "bob", None, user_name="bob", policy_arns=["arn:aws:iam::aws:policy/AdministratorAccess"]
    )
    assert detach.refusal(detach.plan(other, NOW)) is None
    # moto (and the demo) have no AWS-managed policies: a customer copy of the name is refused too.
    copy = _finding(
        "iam-user", "ci", None, user_name="ci",
        policy_arns=["arn:aws:iam::111122223333:policy/AWSCompromisedKeyQuarantineV3"],
    )  # fmt: skip
    assert detach.refusal(detach.plan(copy, NOW)) is not None


def test_access_key_ids_are_masked_for_people() -> None:
    masked = mask_secrets({"calls": [{"AccessKeyId": KEY}], "note": f"key {KEY} leaked"})
    assert masked == {"calls": [{"AccessKeyId": "AKIA…MPLE"}], "note": "key AKIA…MPLE leaked"}


def test_fix_policy_allows_exactly_the_declared_permissions_and_denies_detaching_quarantine() -> None:
    policy = fix_policy()
    allow, deny = policy["Statement"]
    assert allow["Action"] == fix_permissions()
    assert set(allow["Action"]) == {p for action in ACTIONS for p in action.permissions}
    assert all(permission in iam_action_names() for permission in deny["Action"])
    assert deny["Condition"]["ArnLike"]["iam:PolicyARN"].endswith("AWSCompromisedKeyQuarantine*")


def test_docs_name_every_action_and_command() -> None:
    from pathlib import Path

    from noticedesk.cli.fix import actions_command, fix_group
    from noticedesk.cli.iam_policy import policy_fix

    docs = (Path(__file__).parent.parent / "docs" / "fixes.md").read_text(encoding="utf-8")
    assert all(f"`{action.name}`" in docs or action.name in docs for action in ACTIONS)
    for name, command in fix_group.commands.items():
        assert command.help and f"fix {name}" in docs
    assert actions_command.help and "noticedesk actions" in docs
    assert policy_fix.help and "policy fix" in docs


def test_an_unparsable_answer_is_an_action_failure_not_a_crash() -> None:
    """A proxy's (or moto server's) HTML 500 page: botocore raises a parser error, not a ClientError."""
    from botocore.parsers import ResponseParserError

    from noticedesk.aws.actions.base import ActionFailed, Call, run_call

    class HtmlAnswers:
        def client(self, service: str, region: str | None = None, account_id: str | None = None) -> object:
            class Client:
                def get_image_block_public_access_state(self) -> None:
                    raise ResponseParserError("invalid XML received: b'<!doctype html>\\n<html lang=en>'")

            return Client()

    call = Call("ec2", "GetImageBlockPublicAccessState", "us-east-1", {})
    with pytest.raises(ActionFailed, match="HTML error page") as failed:
        run_call(HtmlAnswers(), call, ACCOUNT)
    assert "<" not in str(failed.value)
