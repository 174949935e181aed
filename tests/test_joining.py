"""A follow-up that names no case reference: the one open case of its account and kind, or its own.

Resolutions often come with no subject and name only the account (or nothing but the case):
they close the abuse case they name, or the only open abuse case of the account.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from test_cases import triage

from noticedesk.store.tables import case_events, cases

ACCOUNT = "111122223333"


def _abuse(message_id: str, day: int, ref: str | None, text: str, subject: str = "") -> bytes:
    headers = [
        "From: Amazon EC2 Abuse <ec2-abuse@amazon.com>",
        f"Date: {day:02d} Nov 2026 03:00:00 +0000",
        f"Message-ID: <{message_id}@amazon.com>",
    ]
    if subject:
        headers.append(f"Subject: {subject}")
    named = f"AWS account {ACCOUNT}" + (f", abuse case {ref}" if ref else "")
    return ("\n".join(headers) + f"\n\nHello,\n\n{named}.\n{text}\n").encode()


FIRST = "We have received a report that your AWS resource has been involved in port scanning of remote hosts."
SECOND = "We have received a report that your AWS resource has been sending unsolicited bulk email."
CLOSED = "Our abuse team has looked into this and closed the case."
REMINDER = "We are still waiting for an update on this abuse report."


def _cases(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(cases.c.case_key, cases.c.stage, cases.c.status).order_by(cases.c.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_resolution_naming_no_case_closes_the_only_open_abuse_case(engine: Engine, now: datetime) -> None:
    opened, closed = triage(
        engine,
        now,
        _abuse("a1", 20, "18000000001-1", FIRST, "Your Amazon EC2 Abuse Report"),
        _abuse("a2", 22, None, CLOSED),
    )
    assert closed.notice is not None and closed.notice.stage.value == "resolved"
    assert closed.case_id == opened.case_id and not closed.warnings
    assert _cases(engine) == [(f"{ACCOUNT}|abuse-report|18000000001-1", "resolved", "resolved")]


def test_a_resolution_naming_its_case_closes_that_one_of_several(engine: Engine, now: datetime) -> None:
    first, second, closed = triage(
        engine,
        now,
        _abuse("b1", 20, "18000000001-1", FIRST, "Your Amazon EC2 Abuse Report"),
        _abuse("b2", 21, "18000000002-1", SECOND, "Your Amazon EC2 Abuse Report"),
        _abuse("b3", 22, "18000000002-1", CLOSED),
    )
    assert closed.case_id == second.case_id != first.case_id
    assert [row[2] for row in _cases(engine)] == ["new", "resolved"]


def test_a_follow_up_naming_no_case_opens_its_own_when_several_are_open_and_says_so(
    engine: Engine, now: datetime
) -> None:
    """Two abuse cases open for one account: a reminder that names neither cannot be told apart."""
    triage(engine, now, _abuse("c1", 20, "18000000001-1", FIRST, "Your Amazon EC2 Abuse Report"))
    triage(engine, now, _abuse("c2", 21, "18000000002-1", SECOND, "Your Amazon EC2 Abuse Report"))
    (reminder,) = triage(engine, now, _abuse("c3", 22, None, REMINDER, "RE:"))
    assert reminder.notice is not None and reminder.notice.stage.value == "reminder"
    assert reminder.case_id is not None
    assert any("has 2 open abuse-report cases: filed as a case of its own" in w for w in reminder.warnings)
    keys = [row[0] for row in _cases(engine)]
    assert keys == [
        f"{ACCOUNT}|abuse-report|18000000001-1",
        f"{ACCOUNT}|abuse-report|18000000002-1",
        f"{ACCOUNT}|abuse-report|-",
    ]
    with engine.connect() as connection:
        detail = connection.execute(
            select(case_events.c.detail).where(case_events.c.case_id == reminder.case_id)
        ).scalar_one()
    assert "filed as a case of its own" in detail["note"]
    # A second such reminder cannot choose either (three open now): its own again, a key of its own.
    (again,) = triage(engine, now, _abuse("c4", 23, None, REMINDER, "RE:"))
    assert again.case_id not in (None, reminder.case_id)
    assert any("has 3 open" in warning for warning in again.warnings)


def test_a_follow_up_naming_no_case_joins_the_only_open_one(engine: Engine, now: datetime) -> None:
    """One abuse case open, one closed: the reminder is about the open one."""
    first, _closed = triage(
        engine,
        now,
        _abuse("d1", 18, "18000000001-1", FIRST, "Your Amazon EC2 Abuse Report"),
        _abuse("d2", 19, "18000000001-1", CLOSED),
    )
    (second,) = triage(engine, now, _abuse("d3", 20, "18000000002-1", SECOND, "Your Amazon EC2 Abuse Report"))
    (reminder,) = triage(engine, now, _abuse("d4", 22, None, REMINDER, "RE:"))
    assert reminder.case_id == second.case_id != first.case_id
    assert not reminder.warnings
    assert _cases(engine)[1][1:] == ("reminder", "new")
