"""Raising and clearing the rate alarms: early-warning cases filed as notices are, on both stores."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine, select

from noticedesk.cases.batch import load_book, write
from noticedesk.cases.runbooks import checklist_for
from noticedesk.config import SesConfig
from noticedesk.feedback.alarm_state import AlarmCheck, check_alarms, raised_alarms
from noticedesk.feedback.events import parse_line
from noticedesk.feedback.ingest import ingest_batches
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.notices.clocks import Clocks
from noticedesk.notices.model import Authenticity, Facts, Kind, Notice, Stage
from noticedesk.store.bulk import json_text
from noticedesk.store.tables import case_events, cases, checklist_items, ses_alarms
from tests.test_feedback_alarms import NOW, line

ACCOUNT = "111122223333"


def feed(engine: Engine, kind: str, indexes: range) -> None:
    lines = [parse_line(line(kind, index)) for index in indexes]
    ingest_batches(engine, [(document, "test") for document in lines], PolicySettings(), NOW)


def burst(engine: Engine) -> None:
    """200 sends, 12 hard bounces: 6 %, past the critical 4 % in every scope."""
    feed(engine, "send", range(200))
    feed(engine, "bounce", range(12))


def notes(engine: Engine, case_id: int) -> list[str]:
    with engine.connect() as connection:
        query = select(case_events.c.type, case_events.c.summary).where(case_events.c.case_id == case_id)
        return [
            summary
            for kind, summary in connection.execute(query.order_by(case_events.c.id))
            if kind == "note"
        ]


def test_an_early_warning_case_is_opened_with_its_runbook_checklist(engine: Engine) -> None:
    burst(engine)
    check = check_alarms(engine, SesConfig(), now=NOW)
    [case_id] = check.case_ids
    with engine.connect() as connection:
        case = connection.execute(select(cases).where(cases.c.id == case_id)).one()
        items = connection.execute(
            select(checklist_items.c.item_key)
            .where(checklist_items.c.case_id == case_id)
            .order_by(checklist_items.c.position)
        ).scalars()
        keys = list(items)
    assert (case.kind, case.stage, case.status, case.authenticity) == (
        "ses-bounce",
        "early-warning",
        "new",
        "unverified",
    )
    assert case.case_key == f"{ACCOUNT}|ses-bounce|-" and case.title.startswith("NoticeDesk early warning: ")
    assert case.last_notice_at is None and case.reply_by is None  # no notice from AWS, no clock
    assert keys == [step.key for step in checklist_for("ses-bounce")] and keys
    assert len(notes(engine, case_id)) == 3  # account, region, identity
    with engine.connect() as connection:
        linked = connection.execute(select(ses_alarms.c.case_id)).scalars().all()
    assert linked == [case_id] * 3


def file_aws_notice(engine: Engine) -> int:
    """An SES bounce review notice from AWS, verified, with its deadline, filed as triage files it."""
    notice = Notice(
        Kind.SES_BOUNCE,
        Stage.REMINDER,
        Facts(account_id=ACCOUNT, case_ref="12345"),
        rule_id=None,
        authenticity=Authenticity.VERIFIED,
        title="Amazon SES Bounce Review Period for AWS Account 111122223333",
    )
    facts = notice.facts.json_fields()
    with engine.begin() as connection:
        book = load_book(connection, [notice])
        case = book.file(
            notice,
            (facts, json_text(facts)),
            Clocks(NOW + timedelta(days=5), NOW + timedelta(days=14)),
            NOW - timedelta(days=1),
            NOW - timedelta(days=1),
        )
        write(connection, book, [])
    assert case.id is not None
    return case.id


def test_an_alarm_on_the_accounts_open_aws_case_is_a_note_that_moves_nothing(engine: Engine) -> None:
    case_id = file_aws_notice(engine)
    with engine.connect() as connection:
        before = connection.execute(select(cases).where(cases.c.id == case_id)).one()
        items_before = connection.execute(select(checklist_items.c.item_key)).scalars().all()
    burst(engine)
    check = check_alarms(engine, SesConfig(), now=NOW)
    assert check.case_ids == [case_id]
    with engine.connect() as connection:
        after = connection.execute(select(cases).where(cases.c.id == case_id)).one()
        count = len(connection.execute(select(cases.c.id)).all())
        items_after = connection.execute(select(checklist_items.c.item_key)).scalars().all()
    assert count == 1
    assert (after.stage, after.status, after.reply_by, after.enforcement_at, after.last_notice_at) == (
        before.stage,
        before.status,
        before.reply_by,
        before.enforcement_at,
        before.last_notice_at,
    )
    assert after.facts == before.facts and items_after == items_before
    assert [text.split(":")[0] for text in notes(engine, case_id)] == ["early warning"] * 3


def test_a_resolved_early_warning_case_opens_again_the_next_day(engine: Engine) -> None:
    burst(engine)
    [case_id] = check_alarms(engine, SesConfig(), now=NOW).case_ids
    with engine.begin() as connection:
        connection.execute(
            cases.update().where(cases.c.id == case_id).values(status="resolved", stage="resolved")
        )
    later = NOW + timedelta(days=1)
    check = check_alarms(engine, SesConfig(), now=later)
    assert check.case_ids == [case_id] and all(change.again for change in check.raised)
    with engine.connect() as connection:
        case = connection.execute(select(cases).where(cases.c.id == case_id)).one()
    assert (case.status, case.stage) == ("new", "early-warning")
    assert case.facts["bounce_rate"] == 0.06 and case.facts["account_id"] == ACCOUNT
    assert len(notes(engine, case_id)) == 6


def test_an_alarm_clears_when_the_rate_is_back_under_and_is_raised_again_after(engine: Engine) -> None:
    burst(engine)
    [case_id] = check_alarms(engine, SesConfig(), now=NOW).case_ids
    with engine.connect() as connection:
        assert {alarm.scope for alarm in raised_alarms(connection)} == {"account", "region", "identity"}
    feed(engine, "send", range(1000, 3000))  # 12 bounces in 2,200 sends: 0.55 %
    check = check_alarms(engine, SesConfig(), now=NOW + timedelta(minutes=1))
    assert check.alarms == [] and check.raised == []
    assert {(change.scope, change.case_id) for change in check.cleared} == {
        ("account", case_id),
        ("region", case_id),
        ("identity", case_id),
    }
    assert all("back under 4.00% (now 0.55%)" in change.sentence for change in check.cleared)
    cleared = [text for text in notes(engine, case_id) if text.startswith("early warning cleared")]
    assert len(cleared) == 3
    with engine.connect() as connection:
        assert raised_alarms(connection) == []
    repeat = check_alarms(engine, SesConfig(), now=NOW + timedelta(minutes=2))
    assert repeat.cleared == [] and repeat.raised == []  # recorded once
    feed(engine, "bounce", range(3000, 3200))  # 212 in 2,200: raised again, the same day
    again = check_alarms(engine, SesConfig(), now=NOW + timedelta(minutes=3))
    assert len(again.raised) == 3 and not any(change.again for change in again.raised)
    assert again.case_ids == [case_id]
    with engine.connect() as connection:
        assert len(raised_alarms(connection)) == 3


def test_two_checkers_at_once_raise_each_alarm_once(engine: Engine) -> None:
    burst(engine)
    start = threading.Barrier(2)
    checks: list[AlarmCheck] = []

    def check() -> None:
        start.wait()
        checks.append(check_alarms(engine, SesConfig(), now=NOW))

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(item.raised) for item in checks) == [0, 3]
    with engine.connect() as connection:
        assert len(connection.execute(select(cases.c.id)).all()) == 1
        assert len(connection.execute(select(ses_alarms.c.id)).all()) == 3
