"""The one runner: gate, blast radius, confirmation, audit before and after, refusals, checklist."""

from __future__ import annotations

import inspect
import json
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

import pytest
from fixes_helpers import add_findings, apply_all, finding, make_case, remediation
from sqlalchemy import Engine, select, update

from noticedesk.aws.clients import ClientFactory
from noticedesk.errors import AuthenticityError, NotFoundError, RemediationError
from noticedesk.remediation.runner import ApplyRequest
from noticedesk.store.tables import actions, case_events, cases

USER = "ci-deployer"
QUARANTINE_ARN = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"


def _reaching_the_account() -> bool:
    """Whether the runner is checking it can act in the account (before any intent is written)."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name == "_reach":
            return True
        frame = frame.f_back
    return False


def _setup(
    aws: ClientFactory, engine: Engine, now: datetime, authenticity: str = "verified"
) -> tuple[int, str]:
    iam = aws.client("iam")
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    case_id = make_case(engine, now, authenticity=authenticity)
    add_findings(
        engine,
        case_id,
        now,
        [
            finding("access-key", key, None, access_key_id=key, user_name=USER),
            finding(
                "iam-user",
                USER,
                None,
                check="quarantine-policy",
                user_name=USER,
                policy_arns=[QUARANTINE_ARN],
            ),
        ],
    )
    return case_id, key


def _aws_state(aws: ClientFactory) -> dict[str, Any]:
    """Everything the IAM fixes could touch, read straight from the account."""
    iam = aws.client("iam")
    users = {}
    for user in iam.list_users()["Users"]:
        name = user["UserName"]
        users[name] = {
            "keys": iam.list_access_keys(UserName=name)["AccessKeyMetadata"],
            "inline": iam.list_user_policies(UserName=name)["PolicyNames"],
            "attached": iam.list_attached_user_policies(UserName=name)["AttachedPolicies"],
        }
    return users


def test_unverified_notice_is_refused_without_the_override(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, sqlite_engine, now, authenticity="unverified")
    before = _aws_state(aws)
    with pytest.raises(AuthenticityError, match="--i-have-verified-this-notice"):
        apply_all(remediation(sqlite_engine, aws, now), case_id)
    assert _aws_state(aws) == before


def test_the_override_is_recorded_with_who_on_the_row_and_the_timeline(
    aws: ClientFactory, engine: Engine, now: datetime
) -> None:
    case_id, key = _setup(aws, engine, now, authenticity="suspicious")
    runner = remediation(engine, aws, now)
    report = runner.apply(
        case_id, ApplyRequest(confirmed=True, verified_override=True, requested_by="yamada")
    )
    assert report.override == {"by": "yamada", "reason": "notice not verified", "authenticity": "suspicious"}
    with engine.connect() as connection:
        rows = connection.execute(select(actions).where(actions.c.status == "applied")).all()
        events = connection.execute(
            select(case_events).where(case_events.c.type == "action-applied").order_by(case_events.c.id)
        ).all()
        status = connection.execute(select(cases.c.status).where(cases.c.id == case_id)).scalar_one()
    assert {row.action for row in rows} == {
        "access-key-deactivate",
        "iam-user-revoke-sessions",
    }
    assert all(row.override["by"] == "yamada" and row.requested_by == "yamada" for row in rows)
    assert all(row.started_at is not None and row.finished_at is not None for row in rows)
    detail = events[0].detail
    assert events[0].actor == "yamada"
    assert set(detail) >= {"action_id", "action", "resource_id", "region", "account_id", "calls", "before",
                           "after", "verified", "override"}  # fmt: skip
    assert detail["override"]["by"] == "yamada" and detail["verified"] is True
    assert detail["resource_id"] == f"{key[:4]}…{key[-4:]}"
    assert status == "remediating"


def test_blast_radius_limit_refuses_the_whole_run(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, sqlite_engine, now)
    before = _aws_state(aws)
    with pytest.raises(RemediationError, match="2 resources, over the limit of 1"):
        apply_all(remediation(sqlite_engine, aws, now, max_resources=1), case_id)
    assert _aws_state(aws) == before
    first = remediation(sqlite_engine, aws, now).plan(case_id)[0].id
    narrowed = apply_all(remediation(sqlite_engine, aws, now, max_resources=1), case_id, action_ids=(first,))
    assert [r.status for r in narrowed.results] == ["applied"]


def test_dry_run_changes_nothing_in_the_account(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, sqlite_engine, now)
    before = _aws_state(aws)
    report = remediation(sqlite_engine, aws, now).apply(case_id, ApplyRequest(confirmed=False))
    assert report.dry_run and report.results == []
    assert [r.action for r in report.selected] == [
        "access-key-deactivate",
        "iam-user-revoke-sessions",
    ]
    assert _aws_state(aws) == before
    with sqlite_engine.connect() as connection:
        started = connection.execute(select(actions.c.id).where(actions.c.started_at.is_not(None))).all()
    assert started == []


def test_aws_quarantine_policy_is_never_detached_and_the_refusal_is_recorded(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, sqlite_engine, now)
    runner = remediation(sqlite_engine, aws, now)
    detach = next(r for r in runner.plan(case_id) if r.action == "detach-policy")
    assert detach.status == "refused" and "never detaches" in (detach.error or "")
    [result] = apply_all(runner, case_id, action_ids=(detach.id,)).results
    assert result.status == "refused" and result.requested_by == "tester"
    with sqlite_engine.connect() as connection:
        refused = connection.execute(
            select(case_events.c.summary).where(case_events.c.type == "action-failed")
        ).all()
    assert any("never detaches AWSCompromisedKeyQuarantine" in row.summary for row in refused)


def test_intent_is_committed_before_the_first_call(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, sqlite_engine, now)
    seen: list[Any] = []

    class Watching:
        def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
            if not _reaching_the_account():  # (the role, who the caller is) comes first, changes nothing
                with sqlite_engine.connect() as connection:
                    seen.append(
                        connection.execute(select(actions.c.started_at, actions.c.requested_by)).all()
                    )
            return aws.client(service, region, account_id)

    first = remediation(sqlite_engine, aws, now).plan(case_id)[0].id
    apply_all(remediation(sqlite_engine, Watching(), now), case_id, action_ids=(first,))
    assert seen and all(any(row.requested_by == "tester" and row.started_at for row in rows) for rows in seen)


def test_plan_ids_are_stable_and_unknown_ids_are_an_error(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, sqlite_engine, now)
    runner = remediation(sqlite_engine, aws, now)
    first = [(r.id, r.action) for r in runner.plan(case_id)]
    assert first == [(r.id, r.action) for r in runner.plan(case_id)]
    assert first[0] == (f"A-{case_id}-1", "access-key-deactivate")
    with pytest.raises(NotFoundError, match="A-99-1"):
        apply_all(runner, case_id, action_ids=("A-99-1",))
    with pytest.raises(NotFoundError):
        runner.plan(9999)


def test_applied_actions_are_not_run_twice_and_undone_ones_are_planned_anew(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, sqlite_engine, now)
    runner = remediation(sqlite_engine, aws, now)
    first = apply_all(runner, case_id)
    assert len(first.results) == 2
    assert apply_all(runner, case_id).results == []
    runner.undo(first.results[0].id, confirmed=True, requested_by="tester")
    again = runner.plan(case_id)
    assert again[0].id == f"A-{case_id}-{len(again) + 1}" and again[0].status == "planned"


def test_the_override_ticks_the_confirm_step_a_verified_notice_does_not(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    from noticedesk.cases.queries import get_case

    for authenticity, expected in (("unverified", "yamada"), ("verified", None)):
        case_id = make_case(sqlite_engine, now, authenticity=authenticity, checklist=("confirm-notice",))
        add_findings(sqlite_engine, case_id, now, [finding("access-key", "AKIA", None, status="pass")])
        dry = remediation(sqlite_engine, aws, now).apply(
            case_id, ApplyRequest(verified_override=True, requested_by="yamada")
        )
        assert dry.dry_run and get_case(sqlite_engine, case_id).checklist[0].done_by is None
        remediation(sqlite_engine, aws, now).apply(
            case_id, ApplyRequest(confirmed=True, verified_override=True, requested_by="yamada")
        )
        assert get_case(sqlite_engine, case_id).checklist[0].done_by == expected


def test_an_interrupted_action_is_not_applied_again_unless_named(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    """A run killed between the intent and the outcome: the next run must not redo it blindly
    (its 'before' would be read from a resource it may already have changed)."""
    case_id, _ = _setup(aws, sqlite_engine, now)

    class KilledMidCall:
        def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
            if _reaching_the_account():  # the account is reached; then the run is stopped mid-call
                return aws.client(service, region, account_id)
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the process killed, mid-call

    first = remediation(sqlite_engine, aws, now).plan(case_id)[0]
    with pytest.raises(KeyboardInterrupt):
        apply_all(remediation(sqlite_engine, KilledMidCall(), now), case_id, action_ids=(first.id,))

    runner = remediation(sqlite_engine, aws, now)
    stopped = next(record for record in runner.plan(case_id) if record.id == first.id)
    assert stopped.interrupted and stopped.shown_status == "interrupted"
    assert stopped.to_json()["interrupted"] is True and stopped.status == "planned"

    again = apply_all(runner, case_id)  # every default action: the interrupted one is left alone
    assert first.id not in {record.id for record in again.results}
    reasons = {record.id: reason for record, reason in again.skipped}
    assert reasons[first.id].startswith("interrupted") and f"--action {first.id}" in reasons[first.id]
    assert aws.client("iam").list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["Status"] == "Active"

    named = apply_all(runner, case_id, action_ids=(first.id,))  # a person checked and names it
    assert [record.status for record in named.results] == ["applied"]
    assert not named.results[0].interrupted
    assert aws.client("iam").list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    with sqlite_engine.connect() as connection:
        types = connection.execute(
            select(case_events.c.type).where(case_events.c.case_id == case_id).order_by(case_events.c.id)
        ).scalars()
        assert "action-interrupted" in list(types)


def test_two_runs_at_once_apply_each_action_once(aws: ClientFactory, engine: Engine, now: datetime) -> None:
    """A second `fix apply` started while the first is calling AWS: each action has one owner."""
    case_id, _ = _setup(aws, engine, now)
    second: list[Any] = []

    class StartsAnotherRun:
        def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
            if (
                not _reaching_the_account() and not second
            ):  # the first run has committed its intent for its first action by now
                second.append(apply_all(remediation(engine, aws, now), case_id))
            return aws.client(service, region, account_id)

    first = apply_all(remediation(engine, StartsAnotherRun(), now), case_id)
    other = second[0]
    applied = [record.id for record in (*first.results, *other.results) if record.status == "applied"]
    assert len(applied) == len(set(applied)) and len(applied) >= 2  # nothing applied twice
    # The second run saw the first run's action in flight (claimed by a live run) and left it
    # alone; the first run then found the second had done the rest, and left those alone.
    in_flight = first.results[0].id
    assert any(
        record.id == in_flight and why.startswith("being applied now") for record, why in other.skipped
    )
    taken = {record.id for record, why in first.skipped if why.startswith("another run")}
    assert taken and taken <= {record.id for record in other.results}
    with engine.connect() as connection:
        events = (
            connection.execute(select(case_events.c.detail).where(case_events.c.type == "action-applied"))
            .scalars()
            .all()
        )
    ids = [
        detail["action_id"] if isinstance(detail, dict) else json.loads(detail)["action_id"]
        for detail in events
    ]
    assert sorted(ids) == sorted(applied)  # one action-applied event per action


def _deactivation(runner: Any, case_id: int) -> str:
    return str(next(r.id for r in runner.plan(case_id) if r.action == "access-key-deactivate"))


def _events(engine: Engine, type_: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(case_events.c.actor, case_events.c.summary).where(case_events.c.type == type_)
        ).all()
    return [(row.actor, row.summary) for row in rows]


def test_two_runs_naming_one_action_apply_it_once_each_credited_to_its_person(
    aws: ClientFactory, engine: Engine, now: datetime
) -> None:
    """Bob names the action while Alice's run is calling AWS for it: his run leaves it to hers."""
    case_id, _ = _setup(aws, engine, now)
    action_id = _deactivation(remediation(engine, aws, now), case_id)
    bob: list[Any] = []

    class BobStartsMeanwhile:
        def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
            if not _reaching_the_account() and not bob:
                request = ApplyRequest((action_id,), confirmed=True, requested_by="bob")
                bob.append(remediation(engine, aws, now).apply(case_id, request))
            return aws.client(service, region, account_id)

    alice = remediation(engine, BobStartsMeanwhile(), now).apply(
        case_id, ApplyRequest((action_id,), confirmed=True, requested_by="alice")
    )
    assert [(r.id, r.status, r.requested_by) for r in alice.results] == [(action_id, "applied", "alice")]
    assert bob[0].results == []
    [(skipped, why)] = bob[0].skipped
    assert skipped.id == action_id and why.startswith("being applied now by alice on ")
    assert [actor for actor, _ in _events(engine, "action-applied")] == ["alice"]
    assert _events(engine, "action-interrupted") == []
    assert aws.client("iam").list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["Status"] == "Inactive"


def _claim(engine: Engine, action_id: str, now: datetime, host: str, pid: int) -> None:
    """A run's intent as written before its first call, by a run that then stopped answering."""
    from noticedesk.remediation.claims import CLAIM_LEASE

    with engine.begin() as connection:
        connection.execute(
            update(actions)
            .where(actions.c.id == action_id)
            .values(
                requested_by="alice",
                started_at=now,
                claim_host=host,
                claim_pid=pid,
                claim_until=now + CLAIM_LEASE,
            )
        )


def test_a_claim_whose_process_is_gone_is_interrupted_and_the_new_run_is_credited(
    aws: ClientFactory, engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, engine, now)
    action_id = _deactivation(remediation(engine, aws, now), case_id)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid of this host that no process has any more (Alice's run, killed)
    _claim(engine, action_id, now, socket.gethostname(), gone.pid)

    runner = remediation(engine, aws, now)
    stopped = next(r for r in runner.plan(case_id) if r.id == action_id)
    assert stopped.interrupted and not stopped.in_progress and stopped.shown_status == "interrupted"
    assert action_id not in {r.id for r in apply_all(runner, case_id).results}  # not blindly redone
    named = runner.apply(case_id, ApplyRequest((action_id,), confirmed=True, requested_by="bob"))
    assert [(r.status, r.requested_by) for r in named.results] == [("applied", "bob")]
    [(actor, summary)] = _events(engine, "action-interrupted")
    assert actor == "bob" and f"by alice on {socket.gethostname()} (pid {gone.pid})" in summary
    assert ("bob", f"applied {action_id}") in [
        (a, s.split(":")[0]) for a, s in _events(engine, "action-applied")
    ]


def test_a_claim_from_another_host_holds_until_its_lease_runs_out(
    aws: ClientFactory, engine: Engine, now: datetime
) -> None:
    from noticedesk.remediation.claims import CLAIM_LEASE

    case_id, _ = _setup(aws, engine, now)
    action_id = _deactivation(remediation(engine, aws, now), case_id)
    _claim(engine, action_id, now, "other-host.example", 4242)

    meanwhile = remediation(engine, aws, now + CLAIM_LEASE / 2).apply(
        case_id, ApplyRequest((action_id,), confirmed=True, requested_by="bob")
    )
    assert meanwhile.results == [] and meanwhile.skipped[0][1].startswith(
        "being applied now by alice on other"
    )
    record = next(r for r in remediation(engine, aws, now).plan(case_id) if r.id == action_id)
    assert record.shown_status == "applying" and record.to_json()["in_progress"] is True

    later = remediation(engine, aws, now + CLAIM_LEASE + timedelta(seconds=1))
    assert next(r for r in later.plan(case_id) if r.id == action_id).interrupted
    named = later.apply(case_id, ApplyRequest((action_id,), confirmed=True, requested_by="bob"))
    assert [(r.status, r.requested_by) for r in named.results] == [("applied", "bob")]


def test_two_undos_of_one_action_at_once_undo_it_once(
    aws: ClientFactory, engine: Engine, now: datetime
) -> None:
    case_id, _ = _setup(aws, engine, now)
    action_id = _deactivation(remediation(engine, aws, now), case_id)
    apply_all(remediation(engine, aws, now), case_id, action_ids=(action_id,))
    bob: list[BaseException] = []

    class BobUndoesMeanwhile:
        def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
            if not _reaching_the_account() and not bob:
                with pytest.raises(RemediationError) as refused:
                    remediation(engine, aws, now).undo(action_id, confirmed=True, requested_by="bob")
                bob.append(refused.value)
            return aws.client(service, region, account_id)

    record, done = remediation(engine, BobUndoesMeanwhile(), now).undo(action_id, True, "alice")
    assert done and record.status == "undone"
    assert str(bob[0]).startswith(f"{action_id} is being undone now by alice on ")
    assert [actor for actor, _ in _events(engine, "action-undone")] == ["alice"]
    assert aws.client("iam").list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["Status"] == "Active"
