"""A batch written with held rows (cases/batch.py) leaves the store as one input at a time does."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, update
from test_cases import NOTICE, REMINDER, SENT, follow_up, triage
from triage_helpers import mail_bytes

from noticedesk.cases.batch import load_book
from noticedesk.cases.filing import CaseBook
from noticedesk.cases.queries import get_case
from noticedesk.store.tables import case_events, cases, checklist_items, messages
from noticedesk.triage import run as triage_module

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


# Scenarios where a notice depends on what an earlier notice of the same batch did: each is run
# as one batch, and again one input per batch on a fresh store, and the stores must match.
ACCOUNT = "111122223333"
DAY = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def abuse(
    message_id: str,
    hours: int,
    ref: str | None = None,
    account: str | None = ACCOUNT,
    reply_to: str | None = None,
    text: str = "",
) -> bytes:
    """An EC2 abuse report (port scanning), sent ``hours`` after DAY, with what it names."""
    subject = "Your Amazon EC2 Abuse Report"
    subject += f" [{ref}]" if ref else ""
    subject += f" [AWS ID {account}]" if account else ""
    sent = (DAY + timedelta(hours=hours)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    head = (
        f"From: AWS Abuse <ec2-abuse@amazon.com>\nTo: ops@example.jp\nSubject: {subject}\n"
        f"Date: {sent}\nMessage-ID: <{message_id}>\n"
    )
    head += f"In-Reply-To: <{reply_to}>\n" if reply_to else ""
    body = (
        "Content-Type: text/plain; charset=UTF-8\n\nHello,\n\nWe have received a report that your AWS "
        "resource(s)\n\nInstance Id: i-0a1b2c3d4e5f60718\n\nReported activity: port scanning of remote "
        f"hosts\n{text}\nPlease reply within 24 hours.\n"
    )
    return (head + body).encode()


RESOLVED = "This abuse report has been resolved."
SCENARIOS = {
    # the batch resolves the account's newest open case: a notice without a reference then joins
    # the next older open one, which only the store knows
    "closed-in-batch-next-older-open": (
        [abuse("r1@amazon.com", 0, "18000000001-1"), abuse("r2@amazon.com", 1, "18000000002-1")],
        [abuse("r2-done@amazon.com", 5, "18000000002-1", text=RESOLVED), abuse("n@amazon.com", 6)],
    ),
    # a notice with a new reference joins the open case without one and gives it the reference;
    # the next one with another new reference finds no case without one and opens its own
    "reference-given-in-batch": (
        [abuse("plain@amazon.com", 0)],
        [abuse("x1@amazon.com", 2, "18000000009-1"), abuse("x2@amazon.com", 3, "18000000008-1")],
    ),
    # a case without an account gets one from a reply threaded to it in the same batch; a later
    # notice of that account (no reference, no thread) joins it as the account's open case
    "account-given-in-batch": (
        [],
        [
            abuse("anon@amazon.com", 0, account=None),
            abuse("anon-re@amazon.com", 1, reply_to="anon@amazon.com"),
            abuse("again@amazon.com", 2),
        ],
    ),
    # two cases opened in one batch: a notice without a reference cannot choose, opens its own
    "two-new-cases-then-one-without-reference": (
        [],
        [
            abuse("a@amazon.com", 0, "18000000001-1"),
            abuse("b@amazon.com", 1, "18000000002-1"),
            abuse("c@amazon.com", 2),
        ],
    ),
    # a follow-up threaded to a message of this batch, and a late older notice that moves nothing
    "thread-and-late-notice-in-batch": (
        [abuse("old@amazon.com", 0, "18000000003-1")],
        [
            abuse("first@amazon.com", 1, "18000000004-1"),
            abuse("first-re@amazon.com", 9, account=None, reply_to="first@amazon.com", text=RESOLVED),
            abuse("first-late@amazon.com", 2, "18000000004-1"),
            abuse(
                "first-spam@amazon.com",
                10,
                "18000000004-1",
                text="Also: sending unsolicited bulk email (spam)",
            ),
        ],
    ),
}


def _by_key(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The store with each case named by its key instead of its id (ids differ between runs)."""
    with engine.connect() as connection:
        keys: dict[int | None, str | None] = {None: None}
        keys.update(
            (row.id, row.case_key) for row in connection.execute(select(cases.c.id, cases.c.case_key))
        )
        case_columns = [column for column in cases.c if column.name not in ("id", "opened_at", "updated_at")]
        return {
            "cases": sorted(
                tuple(row) for row in connection.execute(select(*case_columns).order_by(cases.c.id))
            ),
            "messages": [
                (key, keys[case_id])
                for key, case_id in connection.execute(
                    select(messages.c.dedupe_key, messages.c.case_id).order_by(messages.c.id)
                )
            ],
            "events": [
                (keys[row[0]], *row[1:])
                for row in connection.execute(
                    select(
                        case_events.c.case_id, case_events.c.type, case_events.c.summary, case_events.c.detail
                    ).order_by(case_events.c.id)
                )
            ],
            "items": sorted(
                (keys[row[0]], *row[1:])
                for row in connection.execute(
                    select(checklist_items.c.case_id, checklist_items.c.item_key, checklist_items.c.position)
                )
            ),
        }


def _key_of(engine: Engine, case_id: int | None) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(cases.c.case_key).where(cases.c.id == case_id)).scalar()


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_batch_sees_what_its_earlier_notices_did(engine: Engine, now: datetime, name: str) -> None:
    stored_first, batch = SCENARIOS[name]
    for raw in stored_first:
        triage(engine, now, raw)
    together = triage(engine, now, *batch)
    result = _by_key(engine)
    joined = [_key_of(engine, result.case_id) for result in together]
    with engine.begin() as connection:
        for table in (checklist_items, case_events, messages, cases):
            connection.execute(table.delete())
    for raw in (*stored_first, *batch):
        triage(engine, now, raw)
    assert _by_key(engine) == result
    assert all(result.case_id is not None for result in together)
    expected = {
        "closed-in-batch-next-older-open": [
            f"{ACCOUNT}|abuse-report|18000000002-1",
            f"{ACCOUNT}|abuse-report|18000000001-1",
        ],
        "reference-given-in-batch": [f"{ACCOUNT}|abuse-report|-", f"{ACCOUNT}|abuse-report|18000000008-1"],
        "account-given-in-batch": ["-|abuse-report|-"] * 3,
        "two-new-cases-then-one-without-reference": [
            f"{ACCOUNT}|abuse-report|18000000001-1",
            f"{ACCOUNT}|abuse-report|18000000002-1",
            f"{ACCOUNT}|abuse-report|-",  # two are open: it cannot tell which, so it is its own
        ],
        "thread-and-late-notice-in-batch": [f"{ACCOUNT}|abuse-report|18000000004-1"] * 4,
    }[name]
    assert joined == expected


def test_a_write_from_elsewhere_during_a_batch_is_neither_lost_nor_fatal(
    engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch reads its cases, files in memory, writes at the end: meanwhile another writer
    (here `reply mark-sent`, as the web server or CLI would) waits for it, then goes in."""
    case_id = triage(engine, now, mail_bytes(NOTICE))[0].case_id
    marked: list[str] = []

    def mark_replied() -> None:
        with engine.begin() as connection:
            connection.execute(update(cases).where(cases.c.id == case_id).values(status="replied"))
        marked.append("done")

    writer = threading.Thread(target=mark_replied)

    def load_then_let_the_other_writer_try(connection: Connection, notices: Any, *more: Any) -> CaseBook:
        book = load_book(connection, notices, *more)
        writer.start()
        writer.join(timeout=0.3)  # not done: it waits for the batch
        return book

    monkeypatch.setattr(triage_module, "load_book", load_then_let_the_other_writer_try)
    result = triage(engine, now, REMINDER)[0]
    writer.join(timeout=10)
    assert marked == ["done"] and result.case_id == case_id
    summary = get_case(engine, case_id or 0).summary
    assert (summary.stage, summary.status) == ("reminder", "replied")
