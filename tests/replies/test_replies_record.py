"""Edge cases of drafting and marking sent: a forwarded notice, a case AWS already resolved."""

from __future__ import annotations

from datetime import UTC, datetime

from replies_support import file_case
from sqlalchemy import Engine, select, update

from noticedesk.replies import draft_reply
from noticedesk.replies.record import mark_sent
from noticedesk.store.tables import cases

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_a_forwarded_notice_is_answered_to_aws_but_not_threaded_to_the_forward(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "forwarded-abuse-report.eml")
    draft = draft_reply(sqlite_engine, case_id, NOW)
    assert draft.to == "ec2-abuse@amazon.com"
    assert draft.subject == "RE: Your Amazon EC2 Abuse Report [22223333444-1] [AWS ID 111122223333]"
    assert draft.in_reply_to is None and draft.references == ()
    assert any("No AWS Message-ID to thread to" in warning for warning in draft.warnings)
    assert "an open proxy" in draft.body


def test_mark_sent_keeps_a_resolved_case_resolved_and_masks_keys(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "account-compromised.eml")
    with sqlite_engine.begin() as connection:
        connection.execute(update(cases).where(cases.c.id == case_id).values(status="resolved"))
    sent = mark_sent(sqlite_engine, case_id, "We deleted AKIAQWERTYUIOPASDFGH.", NOW, "hanako")
    assert (sent.status, sent.previous_status) == ("resolved", "resolved")
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(cases.c.reply_by).where(cases.c.id == case_id)).scalar_one() is None
    from noticedesk.cases.queries import get_case

    (event,) = [e for e in get_case(sqlite_engine, case_id).timeline if e.type == "reply-sent"]
    assert event.detail["text"] == "We deleted AKIA…DFGH."


def test_a_case_opened_by_a_health_event_answers_the_kind_subject(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "health-abuse-dos.json")
    draft = draft_reply(sqlite_engine, case_id, NOW)
    assert draft.subject == "RE: Your AWS Abuse Report [AWS ID 111122223333]"
    assert draft.in_reply_to is None and draft.via == "support-center"
    assert "Instance i-0c1b2c3d4e5f60720" in draft.body
    assert "denial-of-service traffic" in draft.body
    assert "2026-11-28 05:00 UTC: AWS Health event about this issue" in draft.body
