"""IAM fixes against moto: state read back after apply and after undo (moto enforces no IAM)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fixes_helpers import add_findings, apply_all, finding, make_case, remediation
from sqlalchemy import Engine, select, text

from noticedesk.aws.clients import ClientFactory
from noticedesk.errors import RemediationError
from noticedesk.remediation.runner import ApplyRequest
from noticedesk.store.tables import checklist_items

USER = "ci-deployer"


def _key_statuses(iam: Any) -> dict[str, str]:
    return {
        key["AccessKeyId"]: key["Status"] for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    }


@pytest.fixture
def leaked(aws: ClientFactory, sqlite_engine: Engine, now: datetime) -> tuple[int, str, Any]:
    iam = aws.client("iam")
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    iam.create_login_profile(UserName=USER, Password="Correct-Horse-9!")
    case_id = make_case(sqlite_engine, now)
    add_findings(
        sqlite_engine,
        case_id,
        now,
        [
            finding("access-key", key, None, access_key_id=key, user_name=USER),
            finding("iam-user", USER, None, user_name=USER, login_profile=now.isoformat()),
        ],
    )
    return case_id, key, iam


def _apply_defaults_then_optional_user_fixes(runner: Any, case_id: int) -> list[Any]:
    """The default run, then the two fixes for a user given a password recently (optional: named)."""
    report = apply_all(runner, case_id)
    optional = [
        r.id for r in runner.plan(case_id) if r.action in ("iam-user-quarantine", "login-profile-remove")
    ]
    return [*report.results, *apply_all(runner, case_id, action_ids=tuple(optional)).results]


def test_default_plan_deactivates_and_revokes_the_user_fixes_are_named(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, leaked: tuple[int, str, Any]
) -> None:
    case_id, key, iam = leaked
    runner = remediation(sqlite_engine, aws, now)
    assert [(r.action, r.plan.default) for r in runner.plan(case_id)] == [
        ("access-key-deactivate", True),
        ("access-key-rotate", False),
        ("access-key-delete", False),
        ("iam-user-quarantine", False),
        ("iam-user-revoke-sessions", True),
        ("login-profile-remove", False),
    ]
    results = _apply_defaults_then_optional_user_fixes(runner, case_id)
    assert [(r.action, r.status, r.verified) for r in results] == [
        ("access-key-deactivate", "applied", True),
        ("iam-user-revoke-sessions", "applied", True),
        ("iam-user-quarantine", "applied", True),
        ("login-profile-remove", "applied", True),
    ]
    assert _key_statuses(iam) == {key: "Inactive"}
    assert sorted(iam.list_user_policies(UserName=USER)["PolicyNames"]) == [
        "NoticeDeskQuarantineDenyAll",
        "NoticeDeskRevokeOlderSessions",
    ]
    with pytest.raises(ClientError):
        iam.get_login_profile(UserName=USER)
    deactivate = results[0]
    assert deactivate.before == {"keys": {key: "Active"}}
    assert deactivate.after == {"keys": {key: "Inactive"}}
    with sqlite_engine.connect() as connection:
        done = dict(
            connection.execute(select(checklist_items.c.item_key, checklist_items.c.done_by)).all()  # type: ignore[arg-type]
        )
    assert done["deactivate-key"] == "tester"
    assert done["delete-exposed-key"] is None


def test_undo_restores_what_was_there(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, leaked: tuple[int, str, Any]
) -> None:
    case_id, key, iam = leaked
    runner = remediation(sqlite_engine, aws, now)
    by_action = {
        record.action: record.id for record in _apply_defaults_then_optional_user_fixes(runner, case_id)
    }
    for name in ("access-key-deactivate", "iam-user-quarantine", "iam-user-revoke-sessions"):
        undone, done = runner.undo(by_action[name], confirmed=True, requested_by="tester")
        assert done and undone.status == "undone", (name, undone.undo_result)
        assert undone.undo_result is not None and undone.undo_result["verified"] is True
    assert _key_statuses(iam) == {key: "Active"}
    assert iam.list_user_policies(UserName=USER)["PolicyNames"] == []
    with sqlite_engine.connect() as connection:
        reopened = connection.execute(
            select(checklist_items.c.done_at).where(checklist_items.c.item_key == "deactivate-key")
        ).scalar_one()
    assert reopened is None  # the step is open again once its fix is undone
    with pytest.raises(RemediationError, match="cannot be undone: None: a deleted password"):
        runner.undo(by_action["login-profile-remove"], confirmed=True, requested_by="tester")


def test_undo_without_confirmation_changes_nothing(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, leaked: tuple[int, str, Any]
) -> None:
    case_id, key, iam = leaked
    runner = remediation(sqlite_engine, aws, now)
    first = apply_all(runner, case_id).results[0]
    record, done = runner.undo(first.id, confirmed=False, requested_by="tester")
    assert not done and record.status == "applied"
    assert _key_statuses(iam) == {key: "Inactive"}


def test_delete_only_after_deactivation_and_in_a_run_of_its_own(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, leaked: tuple[int, str, Any]
) -> None:
    case_id, key, iam = leaked
    runner = remediation(sqlite_engine, aws, now)
    ids = {record.action: record.id for record in runner.plan(case_id)}
    early = apply_all(runner, case_id, action_ids=(ids["access-key-delete"],)).results
    assert early[0].status == "refused" and "still active" in (early[0].error or "")
    assert _key_statuses(iam) == {key: "Active"}

    both = apply_all(runner, case_id, action_ids=(ids["access-key-deactivate"], ids["access-key-delete"]))
    assert [r.status for r in both.results] == ["applied", "refused"]
    assert "second step" in (both.results[1].error or "")
    assert _key_statuses(iam) == {key: "Inactive"}

    second = apply_all(runner, case_id, action_ids=(ids["access-key-delete"],)).results
    assert second[0].status == "applied" and second[0].verified
    assert _key_statuses(iam) == {}
    with pytest.raises(RemediationError, match="cannot be undone"):
        runner.undo(second[0].id, confirmed=True, requested_by="tester")


def test_rotate_shows_the_new_secret_once_and_stores_it_nowhere(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, leaked: tuple[int, str, Any]
) -> None:
    case_id, key, iam = leaked
    shown: list[tuple[str, str]] = []
    runner = remediation(sqlite_engine, aws, now, reveal=lambda label, value: shown.append((label, value)))
    rotate = next(record.id for record in runner.plan(case_id) if record.action == "access-key-rotate")
    result = apply_all(runner, case_id, action_ids=(rotate,)).results[0]
    assert result.status == "applied" and result.verified
    statuses = _key_statuses(iam)
    new_key = next(k for k in statuses if k != key)
    assert statuses == {key: "Inactive", new_key: "Active"}
    assert [label for label, _ in shown] == ["new access key id", "new secret access key"]
    secret = shown[1][1]
    with sqlite_engine.connect() as connection:
        dump = "\n".join(
            str(row)
            for table in ("actions", "case_events", "checklist_items")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )
    assert secret not in dump
    assert new_key in dump  # the new key id is kept (undo needs it) …
    undone, _ = runner.undo(rotate, confirmed=True, requested_by="tester")
    assert undone.status == "undone"
    assert _key_statuses(iam) == {key: "Active", new_key: "Inactive"}


def test_timeline_shows_keys_masked(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, leaked: tuple[int, str, Any]
) -> None:
    case_id, key, _ = leaked
    apply_all(remediation(sqlite_engine, aws, now), case_id)
    with sqlite_engine.connect() as connection:
        events = "\n".join(str(row) for row in connection.execute(text("SELECT * FROM case_events")))
    assert key not in events
    assert f"{key[:4]}…{key[-4:]}" in events


def test_a_failed_call_stops_the_plan_unless_keep_going(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, leaked: tuple[int, str, Any]
) -> None:
    case_id, key, iam = leaked
    iam.delete_login_profile(UserName=USER)
    iam.update_access_key(UserName=USER, AccessKeyId=key, Status="Active")
    # Make the first action fail for real: its key no longer exists.
    iam.delete_access_key(UserName=USER, AccessKeyId=key)
    runner = remediation(sqlite_engine, aws, now)
    stopped = apply_all(runner, case_id)
    assert [r.status for r in stopped.results] == ["failed"]
    assert stopped.results[0].error is not None
    assert [reason for _, reason in stopped.skipped] == [f"not run: {stopped.results[0].id} failed"]
    assert iam.list_user_policies(UserName=USER)["PolicyNames"] == []

    going = runner.apply(case_id, ApplyRequest(confirmed=True, keep_going=True, requested_by="tester"))
    assert [(r.action, r.status) for r in going.results] == [
        ("access-key-deactivate", "failed"),
        ("iam-user-revoke-sessions", "applied"),
    ]
    assert iam.list_user_policies(UserName=USER)["PolicyNames"] == ["NoticeDeskRevokeOlderSessions"]
