"""Feedback into the store: dedupe, events, hourly counters, suppression verdicts. One transaction.

The ingest path is built for volume: a batch of documents becomes a handful of statements
(insert-or-ignore with RETURNING tells which rows are new; counters and verdicts are computed
only from those), so redelivered feedback changes nothing and costs one index probe per row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from noticedesk.feedback.events import FeedbackDocument, FeedbackEvent
from noticedesk.feedback.policy import AddressVerdict, PolicySettings, decide
from noticedesk.store.tables import ses_events, ses_feedback_messages, ses_send_counts, ses_suppressions
from noticedesk.store.types import UtcDateTime

CHUNK = 500  # addresses per IN (...) query
_COUNTER = {"send": "sends", "delivery": "deliveries", "complaint": "complaints", "reject": "rejects"}
_SCOPE = ("account_id", "region", "identity", "configuration_set")


@dataclass
class IngestResult:
    documents: int = 0
    duplicate_documents: int = 0
    events: int = 0
    new_events: int = 0
    addresses_decided: int = 0
    fresh_message_ids: set[str] = field(default_factory=set)
    """SNS MessageIds seen for the first time in this batch."""

    def add(self, other: IngestResult) -> None:
        self.documents += other.documents
        self.duplicate_documents += other.duplicate_documents
        self.events += other.events
        self.new_events += other.new_events
        self.addresses_decided += other.addresses_decided
        self.fresh_message_ids |= other.fresh_message_ids


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


def ingest(
    connection: Connection,
    documents: Sequence[tuple[FeedbackDocument, str]],
    settings: PolicySettings,
    received_at: datetime,
) -> IngestResult:
    """Store (document, source) pairs; duplicates of earlier messages or events change nothing."""
    result = IngestResult(documents=len(documents))
    if connection.dialect.name == "sqlite":
        # The dedupe index is keyed by hashes, so inserts land all over it: keep it in memory
        # (64 MiB page cache instead of SQLite's 2 MiB) or a long import slows down as it grows.
        connection.exec_driver_sql("PRAGMA cache_size=-65536")
    fresh = _new_documents(connection, documents, received_at)
    result.duplicate_documents = len(documents) - len(fresh)
    result.fresh_message_ids = {document.sns_message_id for document in fresh if document.sns_message_id}
    batch: dict[str, FeedbackEvent] = {}
    for document in fresh:
        for event in document.events:
            batch.setdefault(event.dedupe_key, event)
    result.events = sum(len(document.events) for document, _ in documents)
    if not batch:
        return result
    rows = [_event_row(key, event, received_at) for key, event in batch.items()]
    inserted = insert_new(connection, ses_events, rows, "dedupe_key")
    new_events = [batch[key] for key in inserted]
    result.new_events = len(new_events)
    _count_sends(connection, new_events)
    touched = {
        event.address
        for event in new_events
        if event.address is not None and event.event_type in ("bounce", "complaint")
    }
    result.addresses_decided = decide_addresses(connection, touched, settings, received_at)
    return result


def insert_new(connection: Connection, table: Table, rows: list[dict[str, Any]], key: str) -> set[Any]:
    """Insert rows whose ``key`` is not taken yet; return the keys actually inserted.

    On SQLite the rows go as multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING`` at driver
    level, with the columns' own bind processors applied once per value: SQLAlchemy's generic
    executemany costs several times more per row, and this is the hot path of a 1M-line import.
    """
    if not rows:
        return set()
    if connection.dialect.name != "sqlite":
        statement: Insert = _cached(
            connection,
            f"new:{table.name}",
            lambda: (
                insert_for(connection, table)
                .on_conflict_do_nothing(index_elements=[key])
                .returning(table.c[key])
            ),
        )
        return {row[0] for row in connection.execute(statement, rows)}
    dialect = connection.dialect
    columns = list(rows[0])
    processors = [
        sqlite_time_text
        if isinstance(table.c[name].type, UtcDateTime)
        else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in columns
    ]
    per_statement = max(1, 30_000 // len(columns))
    placeholders = "(" + ", ".join("?" * len(columns)) + ")"
    pick: Callable[[dict[str, Any]], Any] = (
        itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    )
    processed = [(index, process) for index, process in enumerate(processors) if process is not None]
    inserted: set[Any] = set()
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values: list[Any] = []
        for row in chunk:
            row_values = list(pick(row))
            for index, process in processed:
                if row_values[index] is not None:
                    row_values[index] = process(row_values[index])
            values.extend(row_values)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
            f"{', '.join([placeholders] * len(chunk))} ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
        )
        inserted.update(row[0] for row in connection.exec_driver_sql(sql, tuple(values)))
    return inserted


def sqlite_time_text(value: datetime) -> str:
    """What ``UtcDateTime`` stores on SQLite, several times cheaper (a test holds them equal)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(" ")
    return text if value.microsecond else text + ".000000"


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
    statement = _cached(
        connection,
        "messages",
        lambda: (
            insert_for(connection, ses_feedback_messages)
            .on_conflict_do_nothing(index_elements=["message_key"])
            .returning(ses_feedback_messages.c.message_key)
        ),
    )
    rows = [
        {
            "message_key": key,
            "topic_arn": document.topic_arn,
            "source": source,
            "event_count": len(document.events),
            "received_at": received_at,
        }
        for key, (document, source) in keyed.items()
    ]
    inserted = {row[0] for row in connection.execute(statement, rows)}
    return unkeyed + [keyed[key][0] for key in keyed if key in inserted]


def _event_row(key: str, event: FeedbackEvent, received_at: datetime) -> dict[str, Any]:
    return {
        "dedupe_key": key,
        "event_type": event.event_type,
        "address": event.address,
        "occurred_at": event.occurred_at,
        "feedback_id": event.feedback_id,
        "ses_message_id": event.ses_message_id,
        "bounce_type": event.bounce_type,
        "bounce_sub_type": event.bounce_sub_type,
        "complaint_type": event.complaint_type,
        "complaint_sub_type": event.complaint_sub_type,
        "diagnostic": event.diagnostic,
        "account_id": event.account_id,
        "region": event.region,
        "identity": event.identity,
        "configuration_set": event.configuration_set,
        "sns_message_id": event.sns_message_id,
        "received_at": received_at,
    }


def counter_of(event: FeedbackEvent) -> str | None:
    if event.event_type == "bounce":
        return "hard_bounces" if event.bounce_type == "Permanent" else "soft_bounces"
    return _COUNTER.get(event.event_type)


def _count_sends(connection: Connection, events: Iterable[FeedbackEvent]) -> None:
    counts: Counter[tuple[Any, ...]] = Counter()
    for event in events:
        column = counter_of(event)
        if column is None:
            continue
        hour = event.occurred_at.replace(minute=0, second=0, microsecond=0)
        counts[(hour, *(getattr(event, name) or "" for name in _SCOPE), column)] += 1
    if not counts:
        return
    buckets: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (hour, *scope, column), count in counts.items():
        key = (hour, *scope)
        row = buckets.setdefault(
            key,
            {
                "bucket_start": hour,
                **dict(zip(_SCOPE, scope, strict=True)),
                **dict.fromkeys(
                    ("sends", "deliveries", "hard_bounces", "soft_bounces", "complaints", "rejects"), 0
                ),
            },
        )
        row[column] += count
    connection.execute(
        _cached(connection, "counts", lambda: _counts_upsert(connection)), list(buckets.values())
    )


def _counts_upsert(connection: Connection) -> Any:
    statement = insert_for(connection, ses_send_counts)
    columns = ("sends", "deliveries", "hard_bounces", "soft_bounces", "complaints", "rejects")
    return statement.on_conflict_do_update(
        index_elements=["bucket_start", *_SCOPE],
        set_={name: ses_send_counts.c[name] + statement.excluded[name] for name in columns},
    )


def decide_addresses(
    connection: Connection, addresses: Iterable[str], settings: PolicySettings, now: datetime
) -> int:
    """Recompute the verdict of each address from all its stored bounce and complaint events."""
    ordered = sorted(addresses)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        history: dict[str, list[FeedbackEvent]] = {address: [] for address in chunk}
        rows = connection.execute(
            select(ses_events).where(
                ses_events.c.address.in_(chunk),
                ses_events.c.event_type.in_(("bounce", "complaint")),
            )
        )
        for row in rows:
            history[row.address].append(event_from_row(row))
        verdicts = [decide(address, events, settings) for address, events in history.items()]
        _save_verdicts(connection, verdicts, now)
    return len(ordered)


def event_from_row(row: Any) -> FeedbackEvent:
    return FeedbackEvent(
        event_type=row.event_type,
        address=row.address,
        occurred_at=row.occurred_at,
        feedback_key=row.feedback_id or row.dedupe_key,
        feedback_id=row.feedback_id,
        ses_message_id=row.ses_message_id,
        bounce_type=row.bounce_type,
        bounce_sub_type=row.bounce_sub_type,
        complaint_type=row.complaint_type,
        complaint_sub_type=row.complaint_sub_type,
        diagnostic=row.diagnostic,
        account_id=row.account_id,
        region=row.region,
        identity=row.identity,
        configuration_set=row.configuration_set,
        sns_message_id=row.sns_message_id,
    )


def _save_verdicts(connection: Connection, verdicts: Sequence[AddressVerdict], now: datetime) -> None:
    if not verdicts:
        return
    rows = [
        {
            "address": verdict.address,
            "suppressed": verdict.suppressed,
            "reason": verdict.reason,
            "cause": verdict.cause,
            "expires_at": verdict.expires_at,
            "flagged": verdict.flagged,
            "first_event_at": verdict.first_event_at,
            "last_event_at": verdict.last_event_at,
            "hard_bounce_count": verdict.hard_bounce_count,
            "soft_bounce_count": verdict.soft_bounce_count,
            "complaint_count": verdict.complaint_count,
            "undetermined_count": verdict.undetermined_count,
            "reasons": list(verdict.reasons),
            "source_message_ids": list(verdict.source_message_ids),
            "at_ses": verdict.already_at_ses,
            "synced_at": None,
            "updated_at": now,
        }
        for verdict in verdicts
    ]
    connection.execute(
        _cached(connection, "verdicts", lambda: _verdicts_upsert(connection, list(rows[0]))), rows
    )


def _verdicts_upsert(connection: Connection, columns: list[str]) -> Any:
    statement = insert_for(connection, ses_suppressions)
    replaced = [name for name in columns if name not in ("address", "at_ses", "synced_at")]
    return statement.on_conflict_do_update(
        index_elements=["address"],
        set_={
            **{name: statement.excluded[name] for name in replaced},
            # What SES already holds is learnt from SES (import, sync) or from events: never forgotten.
            "at_ses": or_(ses_suppressions.c.at_ses, statement.excluded.at_ses),
        },
    )


def ingest_batches(
    engine: Engine,
    documents: Iterable[tuple[FeedbackDocument, str]],
    settings: PolicySettings,
    now: datetime,
    batch_size: int = 5_000,
) -> IngestResult:
    """Commit every ``batch_size`` documents, so memory stays flat on a long file."""
    total = IngestResult()
    batch: list[tuple[FeedbackDocument, str]] = []
    for item in documents:
        batch.append(item)
        if len(batch) >= batch_size:
            with engine.begin() as connection:
                total.add(ingest(connection, batch, settings, now))
            batch = []
    if batch:
        with engine.begin() as connection:
            total.add(ingest(connection, batch, settings, now))
    return total
