"""The store side of a triage batch: one read of what its notices could join, one write at the end.

Filing a notice used to take a lookup of its case and an INSERT or UPDATE of it: some 1,000
statements a batch of 500, each with SQLAlchemy's per-statement and per-row work. Now
``load_book`` asks the store, with a few ``IN (...)`` queries per batch, for every case the
batch's notices could join (by thread, by key, the newest open case of each account and kind);
the notices are filed in memory against that ``CaseBook`` (cases/filing.py); and ``write`` stores
the result: new cases and rows with one ``executemany`` per table, moved cases with one
``executemany`` UPDATE, all in the batch's transaction.

Concurrent writers: the batch holds SQLite's write lock from its start (store.db.begin_writing)
and reads the cases it may move FOR UPDATE on PostgreSQL, so what it read stays true until it
writes; a clash on a unique key (``cases.case_key``, ``messages.dedupe_key``) aborts the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, case, func, insert, select, update

from noticedesk.cases.casestate import CaseState, EventRow, ItemRow
from noticedesk.cases.filing import CaseBook
from noticedesk.cases.joining import case_key
from noticedesk.notices.model import Notice
from noticedesk.store.bulk import BulkWriter, JsonText
from noticedesk.store.tables import case_events, cases, checklist_items, messages

_PER_QUERY = 500  # values in one IN (...): well under SQLite's and PostgreSQL's parameter limits
_PAD = 50
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
# The cases a batch may move are read FOR UPDATE (PostgreSQL; on SQLite the batch holds the
# write lock, see store.db.begin_writing): no other writer changes them before the batch writes.
_BY_ID = select(*_COLUMNS).where(cases.c.id.in_(bindparam("values", expanding=True))).with_for_update()
_BY_KEY = select(*_COLUMNS).where(cases.c.case_key.in_(bindparam("values", expanding=True))).with_for_update()
_THREAD_MESSAGES = (
    select(messages.c.message_id, messages.c.case_id)
    .where(messages.c.message_id.in_(bindparam("values", expanding=True)), messages.c.case_id.is_not(None))
    .order_by(messages.c.id)
)
# Per account and kind: the newest open case, the newest open case without a reference, and
# how many are open (a notice naming no reference joins one only when it is the only one).
_NEWEST_OPEN = (
    select(
        cases.c.account_id,
        cases.c.kind,
        func.max(cases.c.id),
        func.max(case((cases.c.case_ref.is_(None), cases.c.id))),
        func.count(),
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
    .with_for_update()
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


def load_book(connection: Connection, notices: Sequence[Notice], case_ids: Iterable[int] = ()) -> CaseBook:
    """The cases these notices could join, and those of ``case_ids``, as the store holds them now."""
    book = CaseBook(_Store(connection))
    thread_ids = {thread_id for notice in notices for thread_id in notice.thread_ids}
    threads = list(_chunked_rows(connection, _THREAD_MESSAGES, thread_ids))
    keys = {case_key(notice) for notice in notices}
    for row in _chunked_rows(connection, _BY_KEY, keys):
        book.add_stored(_state(row))
    pairs = {(notice.facts.account_id, notice.kind.value) for notice in notices if notice.facts.account_id}
    for account, kind in pairs:
        book.newest_open[(account, kind, False)] = book.newest_open[(account, kind, True)] = None
        book.open_at_start[(account, kind)] = 0
    accounts = {account for account, _kind in pairs}
    rows = _chunked_rows(connection, _NEWEST_OPEN, accounts)
    for account, kind, newest, newest_without_ref, open_count in rows:
        if (account, kind) in pairs:
            book.newest_open[(account, kind, False)] = newest
            book.newest_open[(account, kind, True)] = newest_without_ref
            book.open_at_start[(account, kind)] = open_count
    wanted = {case_id for _message_id, case_id in threads} | set(case_ids)
    wanted.update(case_id for case_id in book.newest_open.values() if case_id is not None)
    wanted = {case_id for case_id in wanted if book.stored_case(case_id) is None}
    for row in _chunked_rows(connection, _BY_ID, wanted):
        book.add_stored(_state(row))
    for message_id, case_id in threads:
        book.add_message(message_id, book.stored_case(case_id))
    return book


class EarlyWarning(NamedTuple):
    """A warning NoticeDesk raises itself (an SES rate alarm): the notice it stands for, and the
    note it puts on its case's timeline."""

    notice: Notice
    summary: str
    detail: dict[str, Any]


class MessageRow(NamedTuple):
    """A ``messages`` row but its case (whose id a new case gets when the batch is written)."""

    dedupe_key: str
    sha256: str
    source: str
    source_index: int | None
    format: str
    raw: bytes
    received_at: datetime
    sent_at: datetime | None
    message_id: str | None
    from_address: str | None
    forwarded_by: str | None
    subject: str | None
    kind: str | None
    stage: str | None
    rule_id: str | None
    authenticity: str | None
    authenticity_reasons: list[dict[str, str]] | JsonText | None
    facts: dict[str, Any] | JsonText | None
    error: str | None


_INSERT_CASE = insert(cases)
_CASE_COLUMNS = (
    "case_key",
    "account_id",
    "kind",
    "case_ref",
    "stage",
    "status",
    "title",
    "authenticity",
    "facts",
    "reply_by",
    "enforcement_at",
    "last_notice_at",
    "opened_at",
    "updated_at",
)
_MOVED_COLUMNS = (  # every column a follow-up can move (writing back an unmoved value changes nothing)
    "account_id",
    "case_ref",
    "stage",
    "status",
    "authenticity",
    "facts",
    "reply_by",
    "enforcement_at",
    "last_notice_at",
    "updated_at",
    "case_id",
)
_INSERT_MESSAGE = insert(messages)
_MESSAGE_COLUMNS = (*MessageRow._fields, "case_id")
_INSERT_EVENT = insert(case_events)
_EVENT_COLUMNS = ("case_id", *EventRow._fields)
_INSERT_ITEM = insert(checklist_items)
_ITEM_COLUMNS = ("case_id", *ItemRow._fields)


def write(
    connection: Connection, book: CaseBook, message_rows: Sequence[tuple[CaseState | None, MessageRow]]
) -> None:
    """Store what the batch filed: new cases, moved cases, then the rows that name them."""
    writer = BulkWriter(connection)
    writer.execute(
        _INSERT_CASE,
        _CASE_COLUMNS,
        [
            (
                case.case_key,
                case.account_id,
                case.kind,
                case.case_ref,
                case.stage,
                case.status,
                case.title,
                case.authenticity,
                case.stored_facts(),
                case.reply_by,
                case.enforcement_at,
                case.last_notice_at,
                case.opened_at,
                case.updated_at,
            )
            for case in book.opened
        ],
    )
    # The new cases' ids, by their unique key: no reliance on the order RETURNING gives.
    opened = {case.case_key: case for case in book.opened}
    for key, case_id in _chunked_rows(connection, _IDS_OF_KEYS, opened):
        opened[key].id = case_id
    writer.execute(
        _UPDATE_CASE,
        _MOVED_COLUMNS,
        [
            (
                case.account_id,
                case.case_ref,
                case.stage,
                case.status,
                case.authenticity,
                case.stored_facts(),
                case.reply_by,
                case.enforcement_at,
                case.last_notice_at,
                case.updated_at,
                case.id,
            )
            for case in book.changed()
        ],
    )
    writer.execute(_INSERT_MESSAGE, _MESSAGE_COLUMNS, [(*row, _id(case)) for case, row in message_rows])
    writer.execute(_INSERT_EVENT, _EVENT_COLUMNS, [(case.id, *row) for case, row in book.events])
    writer.execute(
        _INSERT_ITEM, _ITEM_COLUMNS, [(case.id, *item) for case, items in book.items for item in items]
    )


def file_warnings(connection: Connection, warnings: Sequence[EarlyWarning], at: datetime) -> list[int]:
    """NoticeDesk's own warnings filed as notices are (``CaseBook.warn``), in the caller's
    transaction (begun with ``store.db.begin_writing``): the id of each one's case, in order."""
    if not warnings:
        return []
    book = load_book(connection, [warning.notice for warning in warnings])
    filed = [book.warn(warning.notice, at, warning.summary, warning.detail) for warning in warnings]
    write(connection, book, [])
    return [case.id for case in filed if case.id is not None]


def _id(case: CaseState | None) -> int | None:
    return None if case is None else case.id


def _chunked_rows(connection: Connection, query: Any, values: Iterable[Any]) -> Iterator[Any]:
    ordered = sorted(values)
    for start in range(0, len(ordered), _PER_QUERY):
        chunk = ordered[start : start + _PER_QUERY]
        # Padded to a multiple of 50 with its last value (the same rows): SQLite's driver keeps
        # 128 prepared statements per connection, and an IN list of each length is another one.
        chunk += chunk[-1:] * (-len(chunk) % _PAD)
        yield from connection.execute(query, {"values": chunk})


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
        was_open=row.status != "resolved",
    )
