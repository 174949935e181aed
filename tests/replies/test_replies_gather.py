"""Reading a case back for a reply: the latest diagnosis run wins, actions stand until undone."""

from __future__ import annotations

from datetime import UTC, datetime

from replies_support import add_action, add_findings, file_case
from sqlalchemy import Engine

from noticedesk.replies.gather import gather


def test_only_the_latest_diagnosis_run_counts(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "abuse-report.eml")
    first = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    add_findings(sqlite_engine, case_id, [{"check": "a", "status": "fail", "detail": "Old problem"}], first)
    add_findings(
        sqlite_engine,
        case_id,
        [
            {"check": "a", "status": "pass", "detail": "Fixed"},
            {"check": "b", "status": "error", "detail": "Unread"},
        ],
        first.replace(hour=11),
    )
    context = gather(sqlite_engine, case_id)
    assert [row.detail for row in context.findings] == ["Fixed", "Unread"]
    assert (context.counts.fail, context.counts.passed, context.counts.error) == (0, 1, 1)
    assert context.failed_findings == ()
    assert context.diagnosed


def test_effective_actions_leave_out_failed_and_undone_ones(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "abuse-report.eml")
    at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    kept = add_action(sqlite_engine, case_id, at, "isolate-instance", "i-0a1b2c3d4e5f60718", "ap-northeast-1")
    add_action(
        sqlite_engine,
        case_id,
        at,
        "stop-instance",
        "i-0a1b2c3d4e5f60718",
        "ap-northeast-1",
        event="action-failed",
    )
    undone = add_action(sqlite_engine, case_id, at, "revoke-security-group-ingress", "sg-1", "ap-northeast-1")
    add_action(
        sqlite_engine,
        case_id,
        at,
        "revoke-security-group-ingress",
        "sg-1",
        "ap-northeast-1",
        event="action-undone",
        action_id=undone,
    )
    context = gather(sqlite_engine, case_id)
    assert [record.action_id for record in context.effective_actions] == [kept]
    assert len(context.actions) == 4


def test_the_notice_mail_is_read_for_threading_and_the_owner_address(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "ses-bounce.eml")
    context = gather(sqlite_engine, case_id)
    (notice,) = context.notices
    assert notice.message_id == "<ses-bounce-0001@fixture.invalid>"
    assert notice.to_address == "cloud-team@example.jp"
    assert context.thread == ("<ses-bounce-0001@fixture.invalid>",)
