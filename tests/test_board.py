"""The board a page at a time (cases/board.py) against the terminal's whole board (list_cases)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import Engine, insert

from noticedesk.cases.board import BoardFilter, board_page
from noticedesk.cases.queries import list_cases
from noticedesk.cases.urgency import urgency
from noticedesk.store.tables import cases, checklist_items
from tests.web_helpers import NOW


def fill(engine: Engine, count: int) -> None:
    chance = random.Random(7)
    rows, items = [], []
    for number in range(1, count + 1):
        reply = NOW + timedelta(hours=chance.randint(-100, 500)) if chance.random() < 0.7 else None
        enforce = NOW + timedelta(hours=chance.randint(-50, 900)) if chance.random() < 0.7 else None
        rows.append(
            {
                "id": number,
                "case_key": f"k{number}",
                "account_id": f"{100000000000 + number % 7}",
                "kind": ("abuse-report", "ses-bounce", "account-compromised")[number % 3],
                "case_ref": f"ref-{number}",
                "stage": "notice",
                "status": ("new", "replied", "resolved")[number % 3] if number % 5 else "new",
                "title": f"Case {'Ünïcode' if number % 11 == 0 else 'plain'} {number}",
                "authenticity": "verified",
                "facts": {},
                "reply_by": reply,
                "enforcement_at": enforce,
                "opened_at": NOW,
                "updated_at": NOW,
            }
        )
        items += [
            {
                "case_id": number,
                "item_key": f"s{step}",
                "position": step,
                "text_en": "x",
                "text_ja": "x",
                "done_at": NOW if step < number % 3 else None,
            }
            for step in range(3)
        ]
    with engine.begin() as connection:
        connection.execute(insert(cases), rows)
        connection.execute(insert(checklist_items), items)


def test_paging_through_the_board_gives_the_terminal_board(engine: Engine) -> None:
    fill(engine, 230)
    whole = list_cases(engine)
    paged = []
    with engine.connect() as connection:
        for offset in range(0, 300, 40):
            page = board_page(connection, BoardFilter(), NOW, limit=40, offset=offset)
            assert page.total == len(whole)
            paged += page.cases
    assert [case.id for case in paged] == [case.id for case in whole]
    assert [case.open_items for case in paged] == [case.open_items for case in whole]
    assert page.accounts == sorted({f"{100000000000 + n % 7}" for n in range(1, 231)})


def test_filters_and_search(engine: Engine) -> None:
    fill(engine, 120)
    whole = list_cases(engine, include_resolved=True)
    with engine.connect() as connection:

        def ids(**filters: object) -> list[int]:
            return [case.id for case in board_page(connection, BoardFilter(**filters), NOW, 500).cases]  # type: ignore[arg-type]

        assert ids(status="all") == [case.id for case in whole]
        overdue = ids(overdue=True)
        assert overdue and all(urgency(c.next_deadline, NOW) == "overdue" for c in whole if c.id in overdue)
        assert set(overdue) == {
            c.id for c in whole if c.status != "resolved" and c.next_deadline and c.next_deadline < NOW
        }
        assert ids(kind="ses-bounce", status="all") == [c.id for c in whole if c.kind == "ses-bounce"]
        unicode = [c.id for c in whole if "Ünïcode" in c.title]
        assert unicode and ids(search="Ünïcode", status="all") == unicode
        assert ids(search="PLAIN 10", status="all") == [c.id for c in whole if "plain 10" in c.title]
        assert ids(search="#17", status="all") == [17]
        assert ids(search="100_", status="all") == []  # LIKE wildcards are text here
        assert ids(account="100000000003", status="resolved") == [
            c.id for c in whole if c.account_id == "100000000003" and c.status == "resolved"
        ]
