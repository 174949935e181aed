"""The outbox: notifications written with the change they tell of, sent and retried later.

``enqueue`` runs in the caller's transaction, so a notification exists exactly when its change
was committed. ``deliver_due`` claims the rows that are due (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, SQLite's write lock otherwise), sends each outside any transaction, and records the
outcome: ``sent``, or another try after an exponential backoff with jitter, or ``failed`` once
``max_tries`` attempts failed (``noticedesk notifications --failed`` shows it, ``notify retry``
sends it again). A sender that dies mid-send leaves its rows ``sending`` under a lease that runs
out; the next run takes them again, so a message is sent at least once, and the receiver can tell
a repeat by its delivery id.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from noticedesk.accounts.registry import find_account, find_accounts
from noticedesk.clock import Clock
from noticedesk.config import NotifyConfig
from noticedesk.errors import DeliveryError, NotFoundError, NotifyError
from noticedesk.notify.channels import DEFAULT_CHANNEL
from noticedesk.notify.events import Event
from noticedesk.notify.messages import Message, render
from noticedesk.store.db import begin_writing
from noticedesk.store.tables import cases, outbox

if TYPE_CHECKING:
    from noticedesk.notify.channels.base import Channel

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
"""How long a sender holds the rows it claimed; a row still ``sending`` after that is taken again."""


def enqueue(
    conn: Connection,
    event: Event,
    *,
    now: datetime,
    channels: Sequence[str] | None = None,
) -> int:
    """Write one outbox row per channel the event goes to; return how many were new.

    The channels are the registered account's, else the channel named ``default`` (which
    ``[notify] default_channel`` may point elsewhere; an account not in the registry is flagged so
    in the message); ``channels`` overrides both. The language is the account's, else left to
    ``[notify] language`` at sending. A row already there for the same (dedupe key, channel) is
    left alone: enqueueing again is a no-op.
    """
    return enqueue_many(conn, [event], now=now, channels=channels)


def enqueue_many(
    conn: Connection, events: Sequence[Event], *, now: datetime, channels: Sequence[str] | None = None
) -> int:
    """``enqueue`` for a batch of events: one read of the registry, one insert."""
    if not events:
        return 0
    registered = find_accounts(conn, {event.account_id for event in events if event.account_id})
    known = _case_facts(conn, [event for event in events if "deadline" not in event.facts])
    rows = []
    for event in events:
        account = registered.get(event.account_id or "")
        facts = {**known.get(event.case_id or "", {}), **event.facts}
        if account is not None:
            facts.setdefault("account_name", account.name)
        names = list(channels) if channels is not None else list(account.channels if account else [])
        for name in dict.fromkeys(names or [DEFAULT_CHANNEL]):
            rows.append(
                {
                    "dedupe_key": event.dedupe_key,
                    "channel": name,
                    "kind": event.kind,
                    "case_id": event.case_id,
                    "account_id": event.account_id,
                    "language": account.language if account is not None else None,
                    "facts": facts,
                    "status": "pending",
                    "tries": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    # A repeat inserts nothing and so returns no id: the ids returned count the new rows.
    added = len(conn.execute(_insert_ignoring_repeats(conn).returning(outbox.c.id), rows).all())
    if added:
        log.info("outbox: %d notification(s) queued for %d event(s)", added, len(events))
    return added


def _case_facts(conn: Connection, events: Sequence[Event]) -> dict[str, dict[str, str]]:
    """What every message of a case shows (its kind, title and the deadline it counts down to),
    read from the cases of ``events`` that do not say it themselves: one query."""
    ids = {int(event.case_id) for event in events if event.case_id and event.case_id.isdigit()}
    if not ids:
        return {}
    query = select(cases.c.id, cases.c.kind, cases.c.title, cases.c.reply_by, cases.c.enforcement_at).where(
        cases.c.id.in_(sorted(ids))
    )
    found: dict[str, dict[str, str]] = {}
    for case_id, kind, title, reply_by, enforcement_at in conn.execute(query):
        facts = {"case_kind": kind, "title": title or kind}
        if reply_by is not None:
            facts |= {"deadline": reply_by.isoformat(), "deadline_label": "reply_by"}
        elif enforcement_at is not None:
            facts |= {"deadline": enforcement_at.isoformat(), "deadline_label": "enforcement"}
        found[str(case_id)] = facts
    return found


def _insert_ignoring_repeats(conn: Connection) -> Any:
    keys = ["dedupe_key", "channel"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(outbox).on_conflict_do_nothing(index_elements=keys)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(outbox).on_conflict_do_nothing(index_elements=keys)
    return insert(outbox)  # pragma: no cover - the store runs on SQLite and PostgreSQL only


@dataclass(frozen=True)
class Backoff:
    """The wait before try ``n + 1`` after ``n`` failed: ``base · 2^(n-1)``, capped, with jitter."""

    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    max_tries: int = 8

    def delay(self, tries: int, rng: random.Random) -> timedelta:
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(tries - 1, 0))
        # "equal jitter": at least half the ceiling, so retries stay spaced, the rest at random,
        # so senders that failed together do not all come back at the same moment.
        return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))


def backoff_of(config: NotifyConfig) -> Backoff:
    return Backoff(config.backoff_seconds, config.backoff_max_seconds, config.max_tries)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    dedupe_key: str
    channel: str
    kind: str
    case_id: str | None
    account_id: str | None
    language: str | None
    facts: Mapping[str, str]
    status: str
    tries: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    def message(self, now: datetime, *, language: str = "en", contacts: Sequence[str] = ()) -> Message:
        """The message as of ``now``; ``language`` when the row has none (an unregistered account)."""
        return render(
            self.kind,
            self.facts,
            language=self.language or language,
            now=now,
            contacts=tuple(contacts),
            case_id=self.case_id,
            account_id=self.account_id,
            delivery_id=f"{self.id}",
            dedupe_key=self.dedupe_key,
        )


_COLUMNS = [getattr(outbox.c, name) for name in OutboxRow.__dataclass_fields__]


def _row(record: Any) -> OutboxRow:
    values = dict(record._mapping)
    values["facts"] = {str(key): str(value) for key, value in (values["facts"] or {}).items()}
    return OutboxRow(**values)


def claim_due(engine: Engine, *, now: datetime, limit: int = 50) -> list[OutboxRow]:
    """Take up to ``limit`` rows that are due, marking them ``sending`` under a lease; commit."""
    due = or_(
        and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
        and_(outbox.c.status == "sending", outbox.c.claim_until < now),
    )
    query = select(*_COLUMNS).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
    with engine.begin() as conn:
        begin_writing(conn)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [_row(record) for record in conn.execute(query)]
        if rows:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([row.id for row in rows]))
                .values(status="sending", claim_until=now + LEASE, updated_at=now)
            )
    return rows


def deliver_due(
    engine: Engine,
    *,
    now: datetime,
    channels: Mapping[str, Channel],
    backoff: Backoff = Backoff(),
    limit: int = 50,
    language: str = "en",
    rng: random.Random | None = None,
    clock: Clock | None = None,
) -> DeliveryReport:
    """Send the rows due at ``now`` through ``channels`` (by name); record each outcome.

    ``language``: for events of accounts not in the registry. ``clock`` (default: ``now``
    throughout) times the outcomes, for a caller with a real clock.
    """
    rng = rng or random.Random()
    report = DeliveryReport()
    for row in claim_due(engine, now=now, limit=limit):
        channel = channels.get(row.channel)
        attempt_at = clock() if clock else now
        try:
            if channel is None:
                raise DeliveryError(f"no channel named {row.channel!r} in [notify.channels]", permanent=True)
            contacts = _contacts(engine, row.account_id)
            channel.send(row.message(attempt_at, language=language, contacts=contacts))
        except DeliveryError as error:
            finished = clock() if clock else now
            _record_failure(engine, row, error, finished, backoff, rng, report)
            continue
        except Exception as error:  # a bug met on one message: logged, retried later, the pass goes on
            log.exception("outbox: sending #%d to %s broke", row.id, row.channel)
            # Only the type: an unknown error's text might quote a URL or an address.
            failure = DeliveryError(f"channel {row.channel}: unexpected {type(error).__name__} (see the log)")
            finished = clock() if clock else now
            _record_failure(engine, row, failure, finished, backoff, rng, report)
            continue
        finished = clock() if clock else now
        with engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(
                    status="sent",
                    tries=row.tries + 1,
                    sent_at=finished,
                    claim_until=None,
                    last_error=None,
                    updated_at=finished,
                )
            )
        report.sent.append(row.id)
        log.info("outbox: sent %s #%d to %s", row.kind, row.id, row.channel)
    return report


def _contacts(engine: Engine, account_id: str | None) -> tuple[str, ...]:
    if not account_id:
        return ()
    with engine.connect() as conn:
        account = find_account(conn, account_id)
    return account.contacts if account is not None else ()


def _record_failure(
    engine: Engine,
    row: OutboxRow,
    error: DeliveryError,
    now: datetime,
    backoff: Backoff,
    rng: random.Random,
    report: DeliveryReport,
) -> None:
    tries = row.tries + 1
    give_up = error.permanent or tries >= backoff.max_tries
    values: dict[str, Any] = {
        "tries": tries,
        "last_error": str(error)[:2000],
        "claim_until": None,
        "updated_at": now,
        "status": "failed" if give_up else "pending",
    }
    if not give_up:
        values["next_attempt_at"] = now + backoff.delay(tries, rng)
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(**values))
    (report.failed if give_up else report.retrying).append(row.id)
    log.warning(
        "outbox: %s #%d to %s %s after try %d: %s",
        row.kind,
        row.id,
        row.channel,
        "failed" if give_up else "will be retried",
        tries,
        error,
    )


def list_rows(conn: Connection, *, failed_only: bool = False, limit: int = 200) -> list[OutboxRow]:
    """The newest outbox rows first (only ``failed`` ones when asked)."""
    query = select(*_COLUMNS).order_by(outbox.c.id.desc()).limit(limit)
    if failed_only:
        query = query.where(outbox.c.status == "failed")
    return [_row(record) for record in conn.execute(query)]


def retry(conn: Connection, row_id: int, *, now: datetime) -> OutboxRow:
    """Make a row due again now with a fresh count of tries (a failed or a waiting one)."""
    found = conn.execute(select(*_COLUMNS).where(outbox.c.id == row_id)).first()
    if found is None:
        raise NotFoundError(f"no notification {row_id} in the outbox")
    row = _row(found)
    if row.status == "sent":
        sent = f"{row.sent_at:%Y-%m-%d %H:%M UTC}" if row.sent_at else "already"
        raise NotifyError(f"notification {row_id} was sent ({sent}); nothing to retry")
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id)
        .values(status="pending", tries=0, next_attempt_at=now, claim_until=None, updated_at=now)
    )
    return row
