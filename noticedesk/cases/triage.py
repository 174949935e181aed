"""Triage: raw inputs in, stored messages and cases out. The raw bytes are stored first.

Each item is handled on its own: a bad one is stored with its error and the batch goes on.
Work is committed in batches, so a 50,000-message mbox streams through at a steady pace.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from noticedesk.cases.joining import case_key, moved, status_after
from noticedesk.cases.runbooks import checklist_for
from noticedesk.cases.timeline import record
from noticedesk.config import Config
from noticedesk.errors import InputError, ParseError
from noticedesk.mail.authenticity import Verdict, assess
from noticedesk.mail.forwarded import original_of
from noticedesk.mail.parse import parse_bytes
from noticedesk.mail.sources import RawItem
from noticedesk.notices.classify import classify
from noticedesk.notices.clocks import clocks_for
from noticedesk.notices.extract import within_hours
from noticedesk.notices.health import health_event_to_notice
from noticedesk.notices.model import Authenticity, Facts, Notice
from noticedesk.notices.rules import rule_table
from noticedesk.store.tables import cases, checklist_items, messages

log = logging.getLogger(__name__)
BATCH_SIZE = 500
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TriageResult:
    source: str
    index: int | None
    notice: Notice | None = None
    case_id: int | None = None
    error: str | None = None
    duplicate: bool = False
    warnings: tuple[str, ...] = ()
    forwarded_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        notice = self.notice
        facts = (notice.facts if notice else Facts()).to_json()
        return {
            "source": self.source,
            "index": self.index,
            "kind": notice.kind.value if notice else None,
            "stage": notice.stage.value if notice else None,
            "authenticity": notice.authenticity.value if notice else None,
            "authenticity_reasons": list(notice.authenticity_reasons) if notice else [],
            **facts,
            "subject": notice.title if notice else None,
            "rule": notice.rule_id if notice else None,
            "forwarded_by": self.forwarded_by,
            "case_id": self.case_id,
            "duplicate": self.duplicate,
            "error": self.error,
            "warnings": list(self.warnings),
        }


@dataclass
class _Understood:
    notice: Notice
    within_hours: int | None = None
    warnings: tuple[str, ...] = ()
    forwarded_by: str | None = None
    from_address: str | None = None
    message_id: str | None = None


@dataclass
class Triage:
    """One triage run over a store. ``now`` is the clock (injected for tests)."""

    engine: Engine
    config: Config = field(default_factory=Config)
    now: Clock = utc_now

    def run(self, items: Iterable[RawItem]) -> Iterator[TriageResult]:
        batch: list[RawItem] = []
        for item in items:
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                yield from self._run_batch(batch)
                batch = []
        if batch:
            yield from self._run_batch(batch)

    def _run_batch(self, batch: list[RawItem]) -> list[TriageResult]:
        with self.engine.begin() as connection:
            return [self._one(connection, item) for item in batch]

    def _one(self, connection: Connection, item: RawItem) -> TriageResult:
        sha = hashlib.sha256(item.raw).hexdigest()
        understood: _Understood | None = None
        error = item.error
        if error is None:
            try:
                understood = self._understand(item)
            except InputError as failure:
                error = failure.reason
            except Exception as failure:  # a bug met on this input: kept, logged, the batch goes on
                log.exception("input not understood", extra={"source": item.label})
                error = f"internal error while reading it ({type(failure).__name__}: {failure})"
        if error is not None:
            log.warning("input not read", extra={"source": item.label, "reason": error})
        message_id = understood.message_id if understood else None
        # A mail is the same mail by its Message-ID; a Health event is updated under one ARN,
        # so only an identical document is the same event. Over-long ids are hashed to fit. Every
        # empty file has the same bytes: an unreadable input is also known by its source.
        dedupe_key = f"sha:{sha}"
        if error is not None:  # unreadable inputs are told apart by where they came from, too
            dedupe_key = f"error:{_sha(f'{item.label}:{sha}')}"
        elif message_id and item.format == "mail":
            dedupe_key = f"mid:{message_id}" if len(message_id) <= 250 else f"mid-sha:{_sha(message_id)}"
        existing = connection.execute(
            select(messages.c.id, messages.c.case_id).where(messages.c.dedupe_key == dedupe_key)
        ).first()
        if existing is not None:
            return TriageResult(
                item.source,
                item.index,
                understood.notice if understood else None,
                existing.case_id,
                error,
                duplicate=True,
                forwarded_by=understood.forwarded_by if understood else None,
            )
        received = self.now()
        notice = understood.notice if understood else None
        message_row_id = connection.execute(
            insert(messages)
            .values(
                dedupe_key=dedupe_key,
                sha256=sha,
                source=item.source,
                source_index=item.index,
                format=item.format,
                raw=item.raw,
                received_at=received,
                sent_at=notice.received_at if notice else None,
                message_id=_clip(message_id, 300),
                from_address=_clip(understood.from_address if understood else None, 320),
                forwarded_by=_clip(understood.forwarded_by if understood else None, 320),
                subject=notice.title if notice else None,
                kind=notice.kind.value if notice else None,
                stage=notice.stage.value if notice else None,
                rule_id=notice.rule_id if notice else None,
                authenticity=notice.authenticity.value if notice else None,
                authenticity_reasons=list(notice.authenticity_reasons) if notice else None,
                facts=notice.facts.to_json() if notice else None,
                error=error,
            )
            .returning(messages.c.id)
        ).scalar_one()
        if understood is None or notice is None:
            return TriageResult(item.source, item.index, None, None, error)
        case_id = None
        if opens_case(notice):
            case_id = self._file(connection, notice, understood.within_hours, received)
            connection.execute(
                update(messages).where(messages.c.id == message_row_id).values(case_id=case_id)
            )
        return TriageResult(
            item.source,
            item.index,
            notice,
            case_id,
            None,
            warnings=understood.warnings,
            forwarded_by=understood.forwarded_by,
        )

    def _understand(self, item: RawItem) -> _Understood:
        if item.format == "health":
            try:
                event = json.loads(item.raw)
            except json.JSONDecodeError as error:
                raise ParseError(item.source, f"not valid JSON: {error}", item.index) from error
            notice = health_event_to_notice(event, item.source, item.index)
            if notice.message_id:
                notice = replace(notice, thread_ids=(notice.message_id,))
            return _Understood(notice, message_id=notice.message_id)
        message, outer = parse_bytes(item.raw, item.source, item.index)
        original = original_of(message, outer)
        notice = classify(original, extra_domains=tuple(self.config.senders.extra_domains))
        verdict: Verdict = assess(item.raw, outer, original, self.config)
        notice = replace(
            notice,
            authenticity=verdict.authenticity,
            authenticity_reasons=verdict.reasons,
            message_id=outer.message_id,
            thread_ids=outer.thread_ids,
        )
        return _Understood(
            notice,
            within_hours=within_hours(rule_table(), original.text[:60_000]),
            warnings=outer.warnings + original.warnings if original is not outer else outer.warnings,
            forwarded_by=original.forwarded_by,
            from_address=original.from_address,
            message_id=outer.message_id,
        )

    def _file(self, connection: Connection, notice: Notice, hours: int | None, received: datetime) -> int:
        """Open the notice's case or move the one it belongs to; record it on the timeline."""
        sent_at = notice.received_at or received
        clocks = clocks_for(notice, sent_at, hours, self.config.clocks)
        existing = _find_case(connection, notice)
        summary = f"{notice.stage.value}: {notice.title or notice.kind.value}"
        detail = {
            "kind": notice.kind.value,
            "stage": notice.stage.value,
            "sent_at": sent_at.isoformat(),
            "authenticity": notice.authenticity.value,
            "facts": notice.facts.to_json(),
        }
        if existing is None:
            case_id = int(
                connection.execute(
                    insert(cases)
                    .values(
                        case_key=case_key(notice),
                        account_id=notice.facts.account_id,
                        kind=notice.kind.value,
                        case_ref=notice.facts.case_ref,
                        stage=notice.stage.value,
                        status=status_after("new", notice.stage),
                        title=notice.title,
                        authenticity=notice.authenticity.value,
                        facts=notice.facts.to_json(),
                        reply_by=clocks.reply_by,
                        enforcement_at=clocks.enforcement_at,
                        last_notice_at=sent_at,
                        opened_at=received,
                        updated_at=received,
                    )
                    .returning(cases.c.id)
                ).scalar_one()
            )
            record(connection, case_id, received, "notice-received", summary, detail)
            _add_checklist(connection, case_id, notice.kind.value, notice.facts.abuse_types)
            return case_id
        facts = Facts.from_json(existing.facts).merged_with(notice.facts)
        newest = existing.last_notice_at is None or sent_at >= existing.last_notice_at
        stage, status = moved(existing.stage, existing.status, notice.stage, newest)
        values: dict[str, Any] = {
            "facts": facts.to_json(),
            "stage": stage,
            "status": status,
            "updated_at": received,
            "authenticity": _stronger(existing.authenticity, notice.authenticity),
        }
        if existing.case_ref is None and notice.facts.case_ref:
            values["case_ref"] = notice.facts.case_ref
        if existing.account_id is None and notice.facts.account_id:
            values["account_id"] = notice.facts.account_id
        if newest:
            values.update(
                reply_by=clocks.reply_by,
                enforcement_at=clocks.enforcement_at,
                last_notice_at=sent_at,
            )
        connection.execute(update(cases).where(cases.c.id == existing.id).values(**values))
        record(connection, existing.id, received, "notice-received", summary, detail)
        _add_checklist(connection, existing.id, notice.kind.value, facts.abuse_types)
        return int(existing.id)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _clip(value: str | None, length: int) -> str | None:
    """Fit a column's width (PostgreSQL enforces it; a crafted header must not abort the batch)."""
    return value[:length] if value else value


def opens_case(notice: Notice) -> bool:
    """A case is opened for a notice of a case kind, unless the mail shows signs of spoofing."""
    return notice.kind.opens_case and notice.authenticity is not Authenticity.SUSPICIOUS


_STRENGTH = {"failed": 0, "suspicious": 0, "unverified": 1, "verified": 2}


def _stronger(current: str, incoming: Authenticity) -> str:
    return incoming.value if _STRENGTH[incoming.value] > _STRENGTH.get(current, 0) else current


def _find_case(connection: Connection, notice: Notice) -> Any:
    columns = (
        cases.c.id,
        cases.c.facts,
        cases.c.stage,
        cases.c.status,
        cases.c.case_ref,
        cases.c.account_id,
        cases.c.last_notice_at,
        cases.c.authenticity,
    )
    if notice.thread_ids:
        threaded = connection.execute(
            select(*columns)
            .join(messages, messages.c.case_id == cases.c.id)
            .where(messages.c.message_id.in_(notice.thread_ids), cases.c.kind == notice.kind.value)
            .limit(1)
        ).first()
        if threaded is not None:
            return threaded
    exact = connection.execute(select(*columns).where(cases.c.case_key == case_key(notice))).first()
    if exact is not None or notice.facts.account_id is None:
        return exact
    # Same account and kind, and one side has no case reference: the newest open case of that kind.
    query = select(*columns).where(
        cases.c.account_id == notice.facts.account_id,
        cases.c.kind == notice.kind.value,
        cases.c.status != "resolved",
    )
    if notice.facts.case_ref:
        query = query.where(cases.c.case_ref.is_(None))
    return connection.execute(query.order_by(cases.c.id.desc()).limit(1)).first()


def _add_checklist(connection: Connection, case_id: int, kind: str, abuse_types: tuple[str, ...]) -> None:
    present = set(
        connection.execute(
            select(checklist_items.c.item_key).where(checklist_items.c.case_id == case_id)
        ).scalars()
    )
    new_steps = [step for step in checklist_for(kind, abuse_types) if step.key not in present]
    if new_steps:
        connection.execute(
            insert(checklist_items),
            [
                {
                    "case_id": case_id,
                    "item_key": step.key,
                    "position": len(present) + offset,
                    "text_en": step.en,
                    "text_ja": step.ja,
                }
                for offset, step in enumerate(new_steps)
            ],
        )
