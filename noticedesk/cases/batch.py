"""The store side of a triage batch: one read of what its notices could join, one write at the end.

Filing 500 notices one at a time took some 2,500 statements (a case lookup, an INSERT or UPDATE
per notice, the rows of each). Now ``load_book`` asks the store, with a few ``IN (...)`` queries
per batch, for every case the batch's notices could join (by thread, by key, the newest open
case of each account and kind); the notices are filed in memory against that ``CaseBook``
(cases/filing.py); and ``write`` stores the result: new cases and rows with one ``executemany``
per table, moved cases with one ``executemany`` UPDATE, all in the batch's transaction.

Concurrent writers stay correct through the unique constraints (``cases.case_key``,
``messages.dedupe_key``): a clash aborts the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, update

from noticedesk.cases.filing import CaseBook, CaseState
from noticedesk.cases.joining import case_key
from noticedesk.notices.model import Notice
from noticedesk.store.bulk import BulkWriter
from noticedesk.store.tables import case_events, cases, checklist_items, messages

_PER_QUERY = 500  # values in one IN (...): well under SQLite's and PostgreSQL's parameter limits
_COLUMNS = (
    cases.c.id,
    cases.c.case_key,
    cases.c.kind,
    cases.c.account_id,
    cases.c.case_ref,
    cases.c.stage,
    cases.c.status,
    cases.c.authenticity,
    cases.c.facts,
    cases.c.reply_by,
    cases.c.enforcement_at,
    cases.c.last_notice_at,
)
_BY_ID = select(*_COLUMNS).where(cases.c.id.in_(bindparam("values", expanding=True)))
_BY_KEY = select(*_COLUMNS).where(cases.c.case_key.in_(bindparam("values", expanding=True)))
_THREAD_MESSAGES = (
    select(messages.c.message_id, messages.c.case_id)
    .where(messages.c.message_id.in_(bindparam("values", expanding=True)), messages.c.case_id.is_not(None))
    .order_by(messages.c.id)
)
# Per account and kind: the newest open case, and the newest open case without a reference.
_NEWEST_OPEN = (
    select(
        cases.c.account_id,
        cases.c.kind,
        func.max(cases.c.id),
        func.max(case((cases.c.case_ref.is_(None), cases.c.id))),
    )
    .where(cases.c.account_id.in_(bindparam("values", expanding=True)), cases.c.status != "resolved")
    .group_by(cases.c.account_id, cases.c.kind)
)
_OLDER_OPEN = (
    select(*_COLUMNS)
    .where(
        cases.c.account_id == bindparam("account"),
        cases.c.kind == bindparam("kind"),
        cases.c.status != "resolved",
        cases.c.id < bindparam("below"),
    )
    .order_by(cases.c.id.desc())
    .limit(1)
)
_OLDER_OPEN_WITHOUT_REF = _OLDER_OPEN.where(cases.c.case_ref.is_(None))
_CHECKLIST_KEYS = select(checklist_items.c.item_key).where(checklist_items.c.case_id == bindparam("case_id"))
_IDS_OF_KEYS = select(cases.c.case_key, cases.c.id).where(
    cases.c.case_key.in_(bindparam("values", expanding=True))
)
_UPDATE_CASE = update(cases).where(cases.c.id == bindparam("case_id"))


@dataclass
class _Store:
    """The reads a ``CaseBook`` makes after the batch's first ones (rare: see ``CaseBook``)."""

    connection: Connection

    def older_open(self, account_id: str, kind: str, without_ref: bool, below_id: int) -> CaseState | None:
        query = _OLDER_OPEN_WITHOUT_REF if without_ref else _OLDER_OPEN
        row = self.connection.execute(query, {"account": account_id, "kind": kind, "below": below_id}).first()
        return None if row is None else _state(row)

    def checklist_keys(self, case_id: int) -> set[str]:
        return set(self.connection.execute(_CHECKLIST_KEYS, {"case_id": case_id}).scalars())


def load_book(connection: Connection, notices: Sequence[Notice]) -> CaseBook:
    """The cases these notices could join, as the store holds them now."""
    book = CaseBook(_Store(connection))
    thread_ids = {thread_id for notice in notices for thread_id in notice.thread_ids}
    threads = list(_chunked_rows(connection, _THREAD_MESSAGES, thread_ids))
    keys = {case_key(notice) for notice in notices}
    for row in _chunked_rows(connection, _BY_KEY, keys):
        book.add_stored(_state(row))
    pairs = {(notice.facts.account_id, notice.kind.value) for notice in notices if notice.facts.account_id}
    for account, kind in pairs:
        book.newest_open[(account, kind, False)] = book.newest_open[(account, kind, True)] = None
    accounts = {account for account, _kind in pairs}
    for account, kind, newest, newest_without_ref in _chunked_rows(connection, _NEWEST_OPEN, accounts):
        if (account, kind) in pairs:
            book.newest_open[(account, kind, False)] = newest
            book.newest_open[(account, kind, True)] = newest_without_ref
    wanted = {case_id for _message_id, case_id in threads}
    wanted.update(case_id for case_id in book.newest_open.values() if case_id is not None)
    for row in _chunked_rows(connection, _BY_ID, wanted - book.known_ids()):
        book.add_stored(_state(row))
    for message_id, case_id in threads:
        book.add_message(message_id, book.stored_case(case_id))
    return book


def write(
    connection: Connection, book: CaseBook, message_rows: Iterable[tuple[CaseState | None, dict[str, Any]]]
) -> None:
    """Store what the batch filed: new cases, moved cases, then the rows that name them."""
    writer = BulkWriter(connection)
    writer.insert(cases, [case.insert_row() for case in book.opened])
    # The new cases' ids, by their unique key: no reliance on the order RETURNING gives.
    opened = {case.case_key: case for case in book.opened}
    for key, case_id in _chunked_rows(connection, _IDS_OF_KEYS, opened):
        opened[key].id = case_id
    moved = book.changed()
    if moved:
        connection.execute(_UPDATE_CASE, [case.update_row() for case in moved])
    writer.insert(messages, list(_with_case_ids(message_rows)))
    writer.insert(case_events, list(_with_case_ids(book.events)))
    writer.insert(checklist_items, list(_with_case_ids(book.items)))


def _with_case_ids(rows: Iterable[tuple[CaseState | None, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for owner, row in rows:
        row["case_id"] = None if owner is None else owner.id
        yield row


def _chunked_rows(connection: Connection, query: Any, values: Iterable[Any]) -> Iterator[Any]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _PER_QUERY):
        yield from connection.execute(query, {"values": ordered[start : start + _PER_QUERY]})


def _state(row: Any) -> CaseState:
    return CaseState(
        id=row.id,
        case_key=row.case_key,
        kind=row.kind,
        account_id=row.account_id,
        case_ref=row.case_ref,
        stage=row.stage,
        status=row.status,
        authenticity=row.authenticity,
        facts=row.facts,
        reply_by=row.reply_by,
        enforcement_at=row.enforcement_at,
        last_notice_at=row.last_notice_at,
    )
