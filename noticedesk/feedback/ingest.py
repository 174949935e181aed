"""Feedback into the store: dedupe, events, hourly counters, suppression verdicts. One transaction.

The ingest path is built for volume: a batch of documents becomes a handful of multi-row
statements at driver level (``store.bulk``; insert-or-ignore with RETURNING tells which rows are
new, counters and verdicts are computed only from those), so redelivered feedback changes
nothing and costs one index probe per row.

What is written per event: a bounce, complaint, delay, reject or rendering failure gets its row
in ``ses_events`` (the policy reads bounces and complaints back); a send, delivery, open or click
only its 24-byte key in ``ses_event_keys`` and a +1 on its hour's counter, since nothing reads
them one by one and they are most of the volume.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from noticedesk.feedback.events import FeedbackDocument, FeedbackEvent
from noticedesk.feedback.suppressions import COLUMNS
from noticedesk.feedback.verdicts import AddressVerdict, PolicySettings, decide
from noticedesk.gcrun import batch_gc
from noticedesk.store import bulk
from noticedesk.store.refusals import driver_message, each_alone_if_refused
from noticedesk.store.tables import (
    ses_event_keys,
    ses_events,
    ses_feedback_messages,
    ses_send_counts,
    ses_suppressions,
)

CHUNK = 500  # addresses per IN (...) query
COUNTED_ONLY = frozenset({"send", "delivery", "open", "click"})
"""Event types kept as a dedupe key and a counter, without a row of their own."""
_COUNTER = {"send": "sends", "delivery": "deliveries", "complaint": "complaints", "reject": "rejects"}
_SCOPE = ("account_id", "region", "identity", "configuration_set")
EVENT_COLUMNS = (
    "dedupe_key",
    "event_type",
    "address",
    "occurred_at",
    "feedback_id",
    "ses_message_id",
    "bounce_type",
    "bounce_sub_type",
    "complaint_type",
    "complaint_sub_type",
    "diagnostic",
    "account_id",
    "region",
    "identity",
    "configuration_set",
    "sns_message_id",
    "received_at",
)

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    documents: int = 0
    duplicate_documents: int = 0
    events: int = 0
    new_events: int = 0
    addresses_decided: int = 0
    fresh_message_ids: set[str] = field(default_factory=set)
    """SNS MessageIds seen for the first time in this batch."""
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(label, reason) of each document the store refused (``ingest_guarded``): not stored."""

    def add(self, other: IngestResult) -> None:
        self.documents += other.documents
        self.duplicate_documents += other.duplicate_documents
        self.events += other.events
        self.new_events += other.new_events
        self.addresses_decided += other.addresses_decided
        self.fresh_message_ids |= other.fresh_message_ids
        self.refused += other.refused


def insert_for(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL both speak it)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _cached(connection: Connection, name: str, build: Callable[[], Any]) -> Any:
    """Statements built once per dialect: building ``excluded`` proxies costs more than running them."""
    key = (connection.dialect.name, name)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def counted_key(digest: bytes, feedback_id: str | None, occurred_at: datetime) -> bytes:
    """The key of a counted-only event in ``ses_event_keys``: 4 bytes of its hour, then its digest.

    Leading with the hour makes new keys land together at the end of the index (feedback comes
    roughly in time order), so inserts stay as cheap however large the table grows. The hour is
    used only when the dedupe text holds the time (no feedbackId: type, message id, time), so
    the same event always gets the same key; with a feedbackId the prefix is 0.
    """
    hour = int(occurred_at.timestamp()) // 3600 if feedback_id is None else 0
    return max(hour, 0).to_bytes(4, "big") + digest


def ingest(
    connection: Connection,
    documents: Sequence[tuple[FeedbackDocument, str]],
    settings: PolicySettings,
    received_at: datetime,
) -> IngestResult:
    """Store (document, source) pairs; duplicates of earlier messages or events change nothing."""
    result = IngestResult(documents=len(documents))
    fresh = _new_documents(connection, documents, received_at)
    result.duplicate_documents = len(documents) - len(fresh)
    result.fresh_message_ids = {document.sns_message_id for document in fresh if document.sns_message_id}
    result.events = sum(len(document.events) for document, _ in documents)
    counted: dict[bytes, FeedbackEvent] = {}
    recorded: dict[str, FeedbackEvent] = {}
    for document in fresh:
        for event in document.events:
            if event.event_type in COUNTED_ONLY:
                counted.setdefault(
                    counted_key(event.dedupe_digest, event.feedback_id, event.occurred_at), event
                )
            else:
                recorded.setdefault(event.dedupe_key, event)
    keys = [(key,) for key in counted]
    new_events = [
        counted[key] for key in bulk.insert_new(connection, ses_event_keys, ("event_key",), keys, "event_key")
    ]
    rows = [event_row(key, event, received_at) for key, event in recorded.items()]
    new_events += [
        recorded[key] for key in bulk.insert_new(connection, ses_events, EVENT_COLUMNS, rows, "dedupe_key")
    ]
    result.new_events = len(new_events)
    touched = {
        event.address
        for event in new_events
        if event.address is not None and event.event_type in ("bounce", "complaint")
    }
    result.addresses_decided = decide_addresses(connection, touched, settings, received_at)
    # The hourly counters last: every concurrent writer (workers, the webhook) updates the same few
    # rows of the current hour, and a row updated is locked until the commit. Last, it is held
    # only for the commit, not for the verdicts as well.
    _count_sends(connection, new_events)
    return result


def _new_documents(
    connection: Connection, documents: Sequence[tuple[FeedbackDocument, str]], received_at: datetime
) -> list[FeedbackDocument]:
    """Documents not seen before: an SNS MessageId is recorded once; bare documents always pass."""
    keyed: dict[str, tuple[FeedbackDocument, str]] = {}
    unkeyed: list[FeedbackDocument] = []
    for document, source in documents:
        if document.sns_message_id is None:
            unkeyed.append(document)
        else:
            keyed.setdefault(f"sns:{document.sns_message_id}", (document, source))
    if not keyed:
        return unkeyed
    columns = ("message_key", "topic_arn", "source", "event_count", "received_at")
    rows = [
        (key, document.topic_arn, source, len(document.events), received_at)
        for key, (document, source) in keyed.items()
    ]
    inserted = set(bulk.insert_new(connection, ses_feedback_messages, columns, rows, "message_key"))
    return unkeyed + [keyed[key][0] for key in keyed if key in inserted]


def event_row(key: str, event: FeedbackEvent, received_at: datetime) -> tuple[Any, ...]:
    """The ``ses_events`` row of an event, in ``EVENT_COLUMNS`` order."""
    return (
        key,
        event.event_type,
        event.address,
        event.occurred_at,
        event.feedback_id,
        event.ses_message_id,
        event.bounce_type,
        event.bounce_sub_type,
        event.complaint_type,
        event.complaint_sub_type,
        event.diagnostic,
        event.account_id,
        event.region,
        event.identity,
        event.configuration_set,
        event.sns_message_id,
        received_at,
    )


def counter_of(event_type: str, bounce_type: str | None) -> str | None:
    if event_type == "bounce":
        return "hard_bounces" if bounce_type == "Permanent" else "soft_bounces"
    return _COUNTER.get(event_type)


def _count_sends(connection: Connection, events: Iterable[FeedbackEvent]) -> None:
    # Counted in one C-level pass (Counter over a generator), then folded per hour and scope:
    # a batch has thousands of events but only a handful of (hour, scope) buckets.
    # The counter column is found per bucket, not per event: (type, bounce type) has few values.
    counts = Counter(
        (
            event.occurred_at.replace(minute=0, second=0, microsecond=0),
            event.account_id,
            event.region,
            event.identity,
            event.configuration_set,
            event.event_type,
            event.bounce_type,
        )
        for event in events
    )
    buckets: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (hour, *scope_or_none, event_type, bounce_type), count in counts.items():
        column = counter_of(event_type, bounce_type)
        if column is None:
            continue
        scope = tuple(value or "" for value in scope_or_none)
        row = buckets.setdefault(
            (hour, scope),
            {
                "bucket_start": hour,
                **dict(zip(_SCOPE, scope, strict=True)),
                **dict.fromkeys(
                    ("sends", "deliveries", "hard_bounces", "soft_bounces", "complaints", "rejects"), 0
                ),
            },
        )
        row[column] += count
    if not buckets:
        return
    # In one order (hour, scope) for every writer: two writers locking the same rows in opposite
    # orders deadlock, and PostgreSQL notices only after deadlock_timeout (1 s) to abort one.
    rows = [buckets[key] for key in sorted(buckets, key=lambda key: (key[0], key[1]))]
    connection.execute(_cached(connection, "counts", lambda: _counts_upsert(connection)), rows)


def _counts_upsert(connection: Connection) -> Any:
    statement = insert_for(connection, ses_send_counts)
    columns = ("sends", "deliveries", "hard_bounces", "soft_bounces", "complaints", "rejects")
    return statement.on_conflict_do_update(
        index_elements=["bucket_start", *_SCOPE],
        set_={name: ses_send_counts.c[name] + statement.excluded[name] for name in columns},
    )


_HISTORY_COLUMNS = (
    "event_type",
    "address",
    "occurred_at",
    "feedback_id",
    "dedupe_key",
    "ses_message_id",
    "bounce_type",
    "bounce_sub_type",
    "complaint_type",
    "complaint_sub_type",
    "diagnostic",
    "account_id",
    "region",
    "identity",
    "configuration_set",
    "sns_message_id",
)
_VERDICT_COLUMNS = (*COLUMNS, "updated_at")
_DECIDED = attrgetter(*(name for name in COLUMNS if name != "synced_at"))
"""A verdict's values in ``COLUMNS`` order (its fields are those columns but ``synced_at``)."""
_VERDICT_UPDATES = {
    **{
        name: f"excluded.{name}"
        for name in _VERDICT_COLUMNS
        if name not in ("address", "at_ses", "synced_at")
    },
    # What SES already holds is learnt from SES (import, sync) or from events: never forgotten.
    "at_ses": "ses_suppressions.at_ses OR excluded.at_ses",
}


def decide_addresses(
    connection: Connection, addresses: Iterable[str], settings: PolicySettings, now: datetime
) -> int:
    """Recompute the verdict of each address from all its stored bounce and complaint events."""
    ordered = sorted(addresses)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        history: dict[str, list[FeedbackEvent]] = {address: [] for address in chunk}
        rows = bulk.select_in(
            connection,
            ses_events,
            _HISTORY_COLUMNS,
            "address",
            chunk,
            "event_type IN ('bounce', 'complaint')",
        )
        for row in rows:
            history[row[1]].append(event_from_row(row))
        verdicts = [decide(address, events, settings) for address, events in history.items()]
        _save_verdicts(connection, verdicts, now)
    return len(ordered)


def event_from_row(row: Sequence[Any]) -> FeedbackEvent:
    """A ``ses_events`` row read in ``_HISTORY_COLUMNS`` order → its event."""
    event_type, address, occurred_at, feedback_id, dedupe_key, *rest = row
    return FeedbackEvent(event_type, address, occurred_at, feedback_id or dedupe_key, feedback_id, *rest)


def _save_verdicts(connection: Connection, verdicts: Sequence[AddressVerdict], now: datetime) -> None:
    # ``reasons`` is a tuple, stored as the same JSON array as a list; ``synced_at`` stays as it was.
    rows = [(*_DECIDED(verdict), None, now) for verdict in verdicts]
    bulk.upsert(connection, ses_suppressions, _VERDICT_COLUMNS, rows, "address", _VERDICT_UPDATES)


def ingest_batches(
    engine: Engine,
    documents: Iterable[tuple[FeedbackDocument, str]],
    settings: PolicySettings,
    now: datetime,
    batch_size: int = 5_000,
) -> IngestResult:
    """Commit every ``batch_size`` documents, so memory stays flat on a long file."""
    with batch_gc():
        return _ingest_batches(engine, documents, settings, now, batch_size)


def _ingest_batches(
    engine: Engine,
    documents: Iterable[tuple[FeedbackDocument, str]],
    settings: PolicySettings,
    now: datetime,
    batch_size: int,
) -> IngestResult:
    total = IngestResult()
    batch: list[tuple[FeedbackDocument, str]] = []
    for item in documents:
        batch.append(item)
        if len(batch) >= batch_size:
            total.add(ingest_guarded(engine, batch, settings, now))
            batch = []
    if batch:
        total.add(ingest_guarded(engine, batch, settings, now))
    return total


def ingest_guarded(
    engine: Engine, batch: list[tuple[FeedbackDocument, str]], settings: PolicySettings, now: datetime
) -> IngestResult:
    """The batch in one transaction; if the store refuses a value of one document, each document
    in a transaction of its own, so that one costs only itself (listed in ``refused``)."""

    def store(documents: list[tuple[FeedbackDocument, str]]) -> list[IngestResult]:
        with engine.begin() as connection:
            return [ingest(connection, documents, settings, now)]

    def refused(document: tuple[FeedbackDocument, str], failure: Exception) -> list[IngestResult]:
        reason = driver_message(failure)
        log.warning("feedback document refused by the store", extra={"source": document[1], "reason": reason})
        return [IngestResult(refused=[(document[1], reason)])]

    total = IngestResult()
    for result in each_alone_if_refused(store, batch, refused):
        total.add(result)
    return total
