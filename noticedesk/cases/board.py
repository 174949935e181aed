"""The case board a page at a time: filtered, searched and ordered by the nearest deadline in SQL.

``list_cases`` (queries.py) reads every open case for the terminal; a web board over ten
thousand cases reads one page of them, and counts open checklist items for that page only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, true, type_coerce

from noticedesk.cases.queries import CaseSummary, summary_of
from noticedesk.store.tables import cases, checklist_items
from noticedesk.store.types import UtcDateTime

STATUSES = ("new", "acknowledged", "diagnosing", "remediating", "replied", "resolved")
OPEN = "open"
"""The status filter meaning every status but ``resolved`` (the board's default)."""

NEXT_DEADLINE = type_coerce(
    case(
        (cases.c.reply_by.is_(None), cases.c.enforcement_at),
        (cases.c.enforcement_at.is_(None), cases.c.reply_by),
        (cases.c.reply_by < cases.c.enforcement_at, cases.c.reply_by),
        else_=cases.c.enforcement_at,
    ),
    UtcDateTime(),
)


@dataclass(frozen=True)
class BoardFilter:
    account: str | None = None
    kind: str | None = None
    status: str = OPEN  # open | all | one of STATUSES
    overdue: bool = False
    search: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "kind": self.kind,
            "status": self.status,
            "overdue": self.overdue,
            "search": self.search,
        }


@dataclass(frozen=True)
class BoardPage:
    cases: list[CaseSummary]
    total: int
    offset: int
    limit: int
    accounts: list[str]
    """Every account id with a case, for the filter's choices."""

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "cases": [summary.to_json(now) for summary in self.cases],
        }


def _conditions(filters: BoardFilter, now: datetime) -> list[Any]:
    found: list[Any] = []
    if filters.status == OPEN:
        found.append(cases.c.status != "resolved")
    elif filters.status in STATUSES:
        found.append(cases.c.status == filters.status)
    if filters.account:
        found.append(cases.c.account_id == filters.account)
    if filters.kind:
        found.append(cases.c.kind == filters.kind)
    if filters.overdue:
        found.append(now > NEXT_DEADLINE)
    words = (filters.search or "").strip()
    if words:
        needle = words.lower()
        matches = [  # SQLite's lower() folds ASCII only: the words as typed match too (ÜNÏCODE, 日本語)
            func.lower(cases.c.title).contains(needle, autoescape=True),
            cases.c.title.contains(words, autoescape=True),
            func.lower(cases.c.case_ref).contains(needle, autoescape=True),
            cases.c.account_id.contains(needle, autoescape=True),
        ]
        if words.lstrip("#").isdigit():
            matches.append(cases.c.id == int(words.lstrip("#")))
        found.append(or_(*matches))
    return found


_BOARD_COLUMNS = (
    cases.c.id,
    cases.c.account_id,
    cases.c.kind,
    cases.c.case_ref,
    cases.c.stage,
    cases.c.status,
    cases.c.title,
    cases.c.authenticity,
    cases.c.reply_by,
    cases.c.enforcement_at,
    cases.c.opened_at,
)


def board_page(
    connection: Connection, filters: BoardFilter, now: datetime, limit: int = 100, offset: int = 0
) -> BoardPage:
    """One page of the board, nearest deadline first, cases without a clock last."""
    where = and_(true(), *_conditions(filters, now))
    total = connection.execute(select(func.count()).select_from(cases).where(where)).scalar_one()
    # The order over narrow rows (id and the two clocks), then the page's rows in full: sorting
    # whole rows (title, facts JSON) for 10,000 cases cost most of the page on PostgreSQL.
    ids = list(
        connection.execute(
            select(cases.c.id)
            .where(where)
            .order_by(NEXT_DEADLINE.is_(None), NEXT_DEADLINE, cases.c.id)
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    by_id = {row.id: row for row in connection.execute(select(*_BOARD_COLUMNS).where(cases.c.id.in_(ids)))}
    rows = [by_id[case_id] for case_id in ids if case_id in by_id]
    open_items: dict[int, int] = (
        {
            int(row[0]): int(row[1])
            for row in connection.execute(
                select(checklist_items.c.case_id, func.count())
                .where(checklist_items.c.case_id.in_(ids), checklist_items.c.done_at.is_(None))
                .group_by(checklist_items.c.case_id)
            )
        }
        if ids
        else {}
    )
    accounts = (
        connection.execute(
            select(cases.c.account_id)
            .distinct()
            .where(cases.c.account_id.is_not(None))
            .order_by(cases.c.account_id)
        )
        .scalars()
        .all()
    )
    summaries = [summary_of(row, int(open_items.get(row.id, 0))) for row in rows]
    return BoardPage(summaries, int(total), offset, limit, [str(a) for a in accounts])
