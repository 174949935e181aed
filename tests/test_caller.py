"""Neither `diagnose` nor `fix` runs as the principal AWS quarantined (V2, V3 or V4)."""

from __future__ import annotations

import json
from datetime import datetime

import boto3
import pytest
from fixes_helpers import add_findings, finding, make_case, remediation
from sqlalchemy import Engine, select

from noticedesk.aws.caller import quarantined_caller
from noticedesk.aws.checks.catalogue import select as select_checks
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import run_diagnosis
from noticedesk.errors import AwsError, RemediationError
from noticedesk.remediation.runner import ApplyRequest
from noticedesk.store.tables import actions

DENY_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
)


def _credentials_of(aws: ClientFactory, user: str, monkeypatch: pytest.MonkeyPatch) -> ClientFactory:
    """A factory whose base credentials are a key of ``user`` (as when the leaked key is the one in use)."""
    key = aws.client("iam").create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return ClientFactory(default_region="us-east-1")


def _quarantine_policy(aws: ClientFactory, version: str) -> str:
    """moto ships no AWS-managed policies: a customer policy of the same name stands in."""
    name = f"AWSCompromisedKeyQuarantine{version}"
    return str(aws.client("iam").create_policy(PolicyName=name, PolicyDocument=DENY_ALL)["Policy"]["Arn"])


@pytest.mark.parametrize("version", ["V2", "V3", "V4"])
def test_diagnose_refuses_to_run_as_the_quarantined_user(
    aws: ClientFactory, monkeypatch: pytest.MonkeyPatch, now: datetime, version: str
) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="ci-deployer")
    iam.attach_user_policy(UserName="ci-deployer", PolicyArn=_quarantine_policy(aws, version))
    leaked = _credentials_of(aws, "ci-deployer", monkeypatch)
    with pytest.raises(AwsError) as refused:
        run_diagnosis(leaked, select_checks(["key-owner"]), now, regions=("us-east-1",))
    message = str(refused.value)
    assert f"user ci-deployer, which AWS has quarantined (AWSCompromisedKeyQuarantine{version})" in message
    assert "cloudtrail:LookupEvents and iam:UpdateAccessKey" in message and "another administrator" in message


def test_a_quarantine_through_a_group_counts_and_another_admin_may_run(
    aws: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = aws.client("iam")
    for user in ("ci-deployer", "admin"):
        iam.create_user(UserName=user)
    iam.create_group(GroupName="deployers")
    iam.add_user_to_group(GroupName="deployers", UserName="ci-deployer")
    iam.attach_group_policy(GroupName="deployers", PolicyArn=_quarantine_policy(aws, "V4"))
    account = "123456789012"
    refusal = quarantined_caller(_credentials_of(aws, "ci-deployer", monkeypatch), account)
    assert refusal is not None and "(through group deployers)" in refusal
    assert quarantined_caller(_credentials_of(aws, "admin", monkeypatch), account) is None


def test_fix_apply_refuses_to_run_as_the_quarantined_user_and_records_nothing(
    aws: ClientFactory, monkeypatch: pytest.MonkeyPatch, sqlite_engine: Engine, now: datetime
) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="ci-deployer")
    iam.attach_user_policy(UserName="ci-deployer", PolicyArn=_quarantine_policy(aws, "V3"))
    key = iam.create_access_key(UserName="ci-deployer")["AccessKey"]["AccessKeyId"]
    case_id = make_case(sqlite_engine, now)
    add_findings(
        sqlite_engine,
        case_id,
        now,
        [finding("access-key", key, None, access_key_id=key, user_name="ci-deployer")],
    )
    leaked = _credentials_of(aws, "ci-deployer", monkeypatch)
    with pytest.raises(RemediationError, match=r"quarantined .*another administrator.*nothing was applied"):
        remediation(sqlite_engine, leaked, now).apply(case_id, ApplyRequest(confirmed=True, requested_by="t"))
    with sqlite_engine.connect() as connection:
        assert set(connection.execute(select(actions.c.started_at)).scalars()) == {None}
    assert (
        boto3.client("iam").list_access_keys(UserName="ci-deployer")["AccessKeyMetadata"][0]["Status"]
        == "Active"
    )


@pytest.mark.parametrize("version", ["V2", "V3", "V4"])
def test_every_version_of_the_quarantine_policy_is_never_detached(version: str) -> None:
    from noticedesk.aws.actions import get_action
    from noticedesk.aws.findings import Finding

    arn = f"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine{version}"
    found = Finding("quarantine-policy", "fail", "high", "123456789012", None, "ci", "quarantined",
                    {"resource_type": "iam-user", "user_name": "ci", "policy_arns": [arn]})  # fmt: skip
    detach = get_action("detach-policy")
    assert detach.proposes(found)
    assert "never detaches" in (detach.refusal(detach.plan(found, datetime(2026, 11, 28))) or "")
