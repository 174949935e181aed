"""Triage: raw inputs in, stored messages and cases out (reading.py understands each input, purely).

Each item is handled on its own: a bad one is stored with its raw bytes and its error, and the
batch goes on. A message's raw bytes are stored in the same transaction as the case change it
causes (both or neither). Work is committed in batches of ``BATCH_SIZE``, so a 50,000-message
mbox streams through at a steady pace and flat memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, bindparam, select

from noticedesk.authenticity.keys import KeyLookup, key_lookup_for
from noticedesk.authenticity.verdict import Reason
from noticedesk.cases.batch import MessageRow, load_book, write
from noticedesk.cases.casestate import CaseState
from noticedesk.cases.filing import CaseBook, opens_case
from noticedesk.clock import Clock, utc_now
from noticedesk.config import Config
from noticedesk.gcrun import batch_gc
from noticedesk.mail.readers import RawItem
from noticedesk.notices.clocks import clocks_for
from noticedesk.notices.model import Authenticity, Decision, Evidence, Kind, Stage
from noticedesk.notify.outbox import enqueue_many
from noticedesk.procpool import OrderedPool, Reducer
from noticedesk.store.bulk import JsonText, json_text
from noticedesk.store.db import begin_writing
from noticedesk.store.refusals import driver_message, each_alone_if_refused
from noticedesk.store.tables import messages
from noticedesk.text import storable_text
from noticedesk.triage.reading import Read, Understood, read_input, understand
from noticedesk.triage.result import Filed, TriageResult, result_of
from noticedesk.triage.telling import batch_events

log = logging.getLogger(__name__)
BATCH_SIZE = 500
SERIAL_BELOW = 16
"""With ``jobs`` > 1, an input of fewer items than this is still read in this process."""
_FIND_MESSAGES = select(
    messages.c.dedupe_key, messages.c.case_id, messages.c.sha256, messages.c.authenticity
).where(messages.c.dedupe_key.in_(bindparam("keys", expanding=True)))
_KEYS_PER_QUERY = 500


@dataclass
class Triage:
    """One triage run over a store. ``now`` is the clock (injected for tests)."""

    engine: Engine
    config: Config = field(default_factory=Config)
    now: Clock = utc_now
    key_lookup: KeyLookup | None = None
    """Where DKIM keys come from; by default the configured keys file, else DNS (cached per run)."""

    jobs: int = 1
    """Processes that read inputs (parse, authenticate, classify); filing stays in this one."""

    def __post_init__(self) -> None:
        if self.key_lookup is None:
            self.key_lookup = key_lookup_for(self.config.dkim)

    def run(self, items: Iterable[RawItem]) -> Iterator[TriageResult]:
        """Results in input order, stored a batch at a time (the collector tuned meanwhile: gcrun.py).

        With ``jobs`` > 1, inputs are read in that many worker processes (procpool.py, started
        here, before the first result is asked for) while this process files the batch before;
        the results are the same as with one job. An input of fewer than ``SERIAL_BELOW``
        items is read here: starting processes would cost more than it saves."""
        batches = _batches(items)
        if self.jobs <= 1:
            return self._run_serially(batches)
        first = next(batches, [])
        if len(first) < SERIAL_BELOW:
            return self._run_serially(iter([first]))
        # One input read here first: what reading builds on first use (the rule table, the
        # scanner's database) is then built once, and every worker inherits it with the fork.
        self._warm_up(first)
        pool = OrderedPool(self._read_fields, self.jobs, reducers=_REDUCERS)
        return self._run_in_pool(chain([first], batches), pool)

    def _run_serially(self, batches: Iterator[list[RawItem]]) -> Iterator[TriageResult]:
        with batch_gc():
            for batch in batches:
                yield from self._run_batch(batch, [self._read(item) for item in batch if _readable(item)])

    def _run_in_pool(
        self, batches: Iterator[list[RawItem]], pool: OrderedPool[RawItem, _Fields | None]
    ) -> Iterator[TriageResult]:
        with batch_gc(), pool:
            for batch, fields in pool.map(batches):
                read = [Read(item, *found) for item, found in zip(batch, fields, strict=True) if found]
                yield from self._run_batch(batch, read)

    def _warm_up(self, batch: list[RawItem]) -> None:
        """Understand the first mail of ``batch`` and forget it (nothing logged, nothing kept)."""
        mail = next((item for item in batch if item.format == "mail" and item.error is None), None)
        if mail is not None:
            with suppress(Exception):  # it is read again, and its failure reported, in its turn
                self._understand(mail)

    def _read_fields(self, item: RawItem) -> _Fields | None:
        """In a worker process: ``_read`` without the input's bytes (the filer has them already)."""
        if not _readable(item):
            return None
        entry = self._read(item)
        return entry.sha, entry.dedupe_key, entry.understood, entry.error

    def explain(self, items: Iterable[RawItem]) -> Iterator[TriageResult]:
        """Each input read as ``run`` reads it, with the clocks it would set; nothing is stored
        (``triage --explain``: why a notice reads as it does, after a cue was changed too)."""
        for item in items:
            if item.format == "skipped":
                yield TriageResult(item.source, item.index, warnings=(item.error or "",), skipped=True)
                continue
            entry = self._read(item)
            understood = entry.understood
            if understood is None:
                yield TriageResult(item.source, item.index, None, None, entry.error)
                continue
            notice = understood.notice
            clocks = None
            if opens_case(notice):
                sent_at = notice.received_at or self.now()
                clocks = clocks_for(notice, sent_at, understood.within_hours, self.config.clocks)
            yield TriageResult(
                item.source,
                item.index,
                notice,
                None,
                None,
                warnings=understood.warnings,
                forwarded_by=understood.forwarded_by,
                clocks=clocks,
            )

    def _run_batch(self, batch: list[RawItem], read: list[Read]) -> list[TriageResult]:
        # Understanding is pure: done first for the whole batch (``read``), then the store is asked once.
        stored = iter(each_alone_if_refused(self._store, read, self._store_refused))
        return [
            TriageResult(item.source, item.index, warnings=(item.error or "",), skipped=True)
            if item.format == "skipped"
            else next(stored)
            for item in batch
        ]

    def _store_refused(self, entry: Read, failure: Exception) -> list[TriageResult]:
        """An input the store refused as read: kept as an unreadable input, with its raw bytes,
        where it came from and why (a store that refuses even that raises: it is not the input)."""
        item = entry.item
        reason = f"not stored as read: the store refused it ({driver_message(failure)})"
        log.warning(
            "input refused by the store", extra={"source": storable_text(item.label), "reason": reason}
        )
        kept = RawItem(storable_text(item.source), item.index, item.raw, item.format, reason)
        return self._store([self._read(kept)])

    def _store(self, read: list[Read]) -> list[TriageResult]:
        """File read inputs in one transaction: a few reads of the store first, the writes at the end.

        Which inputs the store already holds is one query; the cases the rest could join are a
        few more (cases/batch.py); filing happens in memory, in the inputs' order (cases/filing.py).
        """
        with self.engine.begin() as connection:
            begin_writing(connection)  # what the batch reads stays true until it writes
            keys = [entry.dedupe_key for entry in read]
            keys += [_copy_key(entry) for entry in read if entry.dedupe_key.startswith("mid")]
            firsts = _known_messages(connection, keys)
            known: dict[str, int | CaseState | None] = {key: first.case_id for key, first in firsts.items()}
            copies = {entry.dedupe_key: first for entry in read if (first := _new_copy_of(entry, firsts))}
            to_file = [
                entry.understood.notice
                for entry in read
                if entry.understood is not None and _files_anew(entry, known, copies)
            ]
            copied = {first.case_id for first in copies.values() if first.case_id is not None}
            book = load_book(connection, to_file, copied)
            message_rows: list[tuple[CaseState | None, MessageRow]] = []
            filed = [self._file(entry, known, firsts, book, message_rows) for entry in read]
            write(connection, book, message_rows)
            enqueue_many(connection, batch_events(book, filed), now=self.now())  # told iff filed
        return [result_of(entry) for entry in filed]

    def _read(self, item: RawItem) -> Read:
        return read_input(item, self._understand)

    def _understand(self, item: RawItem) -> Understood:
        return understand(item, self.config, self.key_lookup)

    def _file(
        self,
        entry: Read,
        known: dict[str, int | CaseState | None],
        firsts: dict[str, _Known],
        book: CaseBook,
        message_rows: list[tuple[CaseState | None, MessageRow]],
    ) -> Filed:
        """File one read input; ``known`` maps the dedupe keys already stored or filed to their case,
        ``firsts`` to the bytes (sha256) and authenticity of the message stored under them."""
        item, understood, error = entry.item, entry.understood, entry.error
        received = self.now()
        notice = understood.notice if understood else None
        clocks = None
        sent_at = (notice.received_at if notice else None) or received
        # No clock for a mail that opens no case: a suspicious one must not look urgent.
        if understood is not None and notice is not None and opens_case(notice):
            clocks = clocks_for(notice, sent_at, understood.within_hours, self.config.clocks)
        dedupe_key = entry.dedupe_key
        copy_of: _Known | None = None
        if dedupe_key in known:
            first = firsts.get(dedupe_key)
            # Same Message-ID, other bytes: a fuller copy of a notice whose first copy was cut short.
            if first is None or first.sha256 == entry.sha or notice is None or _copy_key(entry) in known:
                same = known.get(_copy_key(entry), known[dedupe_key])
                return Filed(entry, clocks, same, duplicate=True)
            copy_of, dedupe_key = first, _copy_key(entry)
        case = None
        facts = None
        note = None
        if notice is not None:
            facts_json = notice.facts.json_fields()
            facts = (facts_json, json_text(facts_json))  # one json.dumps for message, case and event
            first_case = known[entry.dedupe_key] if copy_of is not None else None
            if first_case is not None:
                case = book.stored_case(first_case) if isinstance(first_case, int) else first_case
                if case is not None:
                    book.complete(case, notice, clocks, copy_of.authenticity if copy_of else None, received)
            elif clocks is not None and opens_case(notice):  # a first copy that opened no case: filed anew
                case = book.file(notice, facts, clocks, sent_at, received)
                note = book.note
        known[dedupe_key] = case  # a second copy later in this batch is a duplicate
        if copy_of is None and dedupe_key.startswith("mid"):
            firsts[dedupe_key] = _Known(None, entry.sha, notice.authenticity.value if notice else None)
        message_id = _clip(understood.message_id if understood else None, 300)
        book.add_message(message_id, case)  # a later notice of this batch can thread to it
        # The raw bytes go in with the case change, in the same transaction: both or neither.
        row = MessageRow(
            dedupe_key=dedupe_key,
            sha256=entry.sha,
            source=item.source,
            source_index=item.index,
            format=item.format,
            raw=item.raw,
            received_at=received,
            sent_at=notice.received_at if notice else None,
            message_id=message_id,
            from_address=_clip(understood.from_address if understood else None, 320),
            forwarded_by=_clip(understood.forwarded_by if understood else None, 320),
            subject=notice.title if notice else None,
            kind=notice.kind.value if notice else None,
            stage=notice.stage.value if notice else None,
            rule_id=notice.rule_id if notice else None,
            authenticity=notice.authenticity.value if notice else None,
            authenticity_reasons=(
                _reasons_text(understood.verdict.reasons) if understood and understood.verdict else None
            ),
            facts=facts[1] if facts else None,
            error=error,
        )
        message_rows.append((case, row))
        return Filed(entry, clocks, case, note=note)


_Fields = tuple[str, str, "Understood | None", "str | None"]
"""What a worker process sends back for one input: ``Read`` less the input itself."""


def _member(member: Enum) -> tuple[Any, tuple[Any, ...]]:
    return getattr, (type(member), member.name)


_REDUCERS: dict[type, Reducer] = {
    # What a worker sends back, pickled without Python-level code per object (half the cost).
    Decision: lambda d: (Decision, (d.value, d.score, d.cues, d.others)),
    Evidence: lambda e: (Evidence, (e.kind, e.stage, e.abuse_types, e.abuse_lines)),
    Kind: _member,
    Stage: _member,
    Authenticity: _member,
}


def _batches(items: Iterable[RawItem]) -> Iterator[list[RawItem]]:
    batch: list[RawItem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _readable(item: RawItem) -> bool:
    """Not a source left alone on purpose (it is reported, not read)."""
    return item.format != "skipped"


class _Known(NamedTuple):
    """A message the store (or this batch) holds under a dedupe key."""

    case_id: int | None
    sha256: str
    authenticity: str | None


def _known_messages(connection: Connection, keys: list[str]) -> dict[str, _Known]:
    """The message under each of these dedupe keys the store already holds (one query per 500)."""
    known: dict[str, _Known] = {}
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = sorted(set(keys[start : start + _KEYS_PER_QUERY]))
        for key, case_id, sha256, authenticity in connection.execute(_FIND_MESSAGES, {"keys": chunk}):
            known[key] = _Known(case_id, sha256, authenticity)
    return known


def _files_anew(entry: Read, known: dict[str, Any], copies: dict[str, _Known]) -> bool:
    """Whether this input may open or join a case: a notice of a case kind not stored yet, or a
    new copy of one whose first copy opened no case (it was cut before what makes it a notice)."""
    if entry.understood is None or not opens_case(entry.understood.notice):
        return False
    first = copies.get(entry.dedupe_key)
    return entry.dedupe_key not in known or (first is not None and first.case_id is None)


def _new_copy_of(entry: Read, firsts: dict[str, _Known]) -> _Known | None:
    """The stored first copy of this message when this is another copy of it, not seen before."""
    first = firsts.get(entry.dedupe_key)
    if first is None or first.sha256 == entry.sha or _copy_key(entry) in firsts:
        return None
    return first


def _copy_key(entry: Read) -> str:
    """Where another copy of a message (same Message-ID, other bytes) is stored."""
    return f"{entry.dedupe_key}#{entry.sha[:32]}"


@lru_cache(maxsize=256)
def _reasons_text(reasons: tuple[Reason, ...]) -> JsonText:
    """Most messages share their reasons (say, "no DKIM signature"): serialized once each."""
    return json_text([reason.to_json() for reason in reasons])


def _clip(value: str | None, length: int) -> str | None:
    """Fit a column's width (PostgreSQL enforces it; a crafted header must not abort the batch)."""
    return value[:length] if value else value
