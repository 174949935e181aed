"""A batch written with held rows (cases/batch.py) leaves the store as one input at a time does."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from test_cases import NOTICE, SENT, follow_up, triage
from triage_helpers import mail_bytes

from noticedesk.store.tables import case_events, cases, checklist_items, messages

REPLY = (
    b"From: AWS Abuse <ec2-abuse@amazon.com>\nSubject: Re: Your AWS Abuse Report\n"
    b"Date: Sat, 28 Nov 2026 01:00:00 +0000\nMessage-ID: <abuse-0001-t@amazon.com>\n"
    b"In-Reply-To: <abuse-0001@amazon.com>\n\nThank you for your reply.\n"
)
SPAM = follow_up(
    "abuse-0001-s@amazon.com",
    SENT + timedelta(hours=5),
    text="Reported activity: sending unsolicited bulk email (spam)",
)
INPUTS = (mail_bytes(NOTICE), REPLY, mail_bytes(NOTICE), SPAM, REPLY)


def _store(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            "cases": [
                tuple(row)
                for row in connection.execute(
                    select(cases.c.id, cases.c.stage, cases.c.status, cases.c.facts).order_by(cases.c.id)
                )
            ],
            "messages": [
                tuple(row)
                for row in connection.execute(
                    select(messages.c.dedupe_key, messages.c.case_id).order_by(messages.c.id)
                )
            ],
            "events": [
                tuple(row)
                for row in connection.execute(
                    select(case_events.c.case_id, case_events.c.type, case_events.c.summary).order_by(
                        case_events.c.id
                    )
                )
            ],
            "items": [
                tuple(row)
                for row in connection.execute(
                    select(
                        checklist_items.c.case_id, checklist_items.c.item_key, checklist_items.c.position
                    ).order_by(checklist_items.c.case_id, checklist_items.c.position)
                )
            ],
        }


def test_one_batch_stores_what_one_input_per_batch_stores(engine: Engine, now: datetime) -> None:
    together = triage(engine, now, *INPUTS)
    stored = _store(engine)
    with engine.begin() as connection:
        for table in (checklist_items, case_events, messages, cases):
            connection.execute(table.delete())
    apart = [triage(engine, now, raw)[0] for raw in INPUTS]
    assert [(result.case_id, result.duplicate) for result in together] == [
        (
            result.case_id - apart[0].case_id + together[0].case_id if result.case_id else None,
            result.duplicate,
        )
        for result in apart
    ]
    assert [result.duplicate for result in together] == [False, False, True, False, True]
    again = _store(engine)
    offset = apart[0].case_id - together[0].case_id  # PostgreSQL does not reuse ids
    assert [row[1:] for row in again["cases"]] == [row[1:] for row in stored["cases"]]
    assert again["messages"] == [(key, case_id + offset) for key, case_id in stored["messages"]]
    assert again["events"] == [(case_id + offset, *rest) for case_id, *rest in stored["events"]]
    assert again["items"] == [(case_id + offset, *rest) for case_id, *rest in stored["items"]]
    spam_steps = [row for row in stored["items"] if "spam" in row[1]]
    assert spam_steps, "the spam follow-up brought its own checklist steps"
