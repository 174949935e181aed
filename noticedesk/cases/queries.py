"""Reading cases back: the board, one case in full, and ticking a checklist item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, and_, exists, func, select, update

from noticedesk.cases.runbooks import Runbook, runbooks_for
from noticedesk.cases.timeline import record
from noticedesk.cases.urgency import URGENCIES, urgency
from noticedesk.errors import NotFoundError
from noticedesk.notices.clocks import clock_rule
from noticedesk.notices.model import Facts, Kind
from noticedesk.store.tables import accounts, case_events, cases, checklist_items, messages


@dataclass(frozen=True)
class CaseSummary:
    id: int
    account_id: str | None
    kind: str
    case_ref: str | None
    stage: str
    status: str
    title: str
    authenticity: str
    reply_by: datetime | None
    enforcement_at: datetime | None
    opened_at: datetime
    open_items: int
    account_name: str | None = None
    """The account's name in the registry (noticedesk/accounts), None when not registered."""
    unknown_account: bool = False
    """The registry is in use and does not know this account (the case opened all the same)."""

    @property
    def account_label(self) -> str:
        """``123456789012 (Shop)``, ``123456789012 (unknown account)``, the id, or ``-``."""
        if not self.account_id:
            return "-"
        if self.account_name:
            return f"{self.account_id} ({self.account_name})"
        return f"{self.account_id} (unknown account)" if self.unknown_account else self.account_id

    @property
    def next_deadline(self) -> datetime | None:
        return min((t for t in (self.reply_by, self.enforcement_at) if t is not None), default=None)

    def to_json(self, now: datetime) -> dict[str, Any]:
        deadline = self.next_deadline
        return {
            "id": self.id,
            "account_id": self.account_id,
            "kind": self.kind,
            "case_ref": self.case_ref,
            "stage": self.stage,
            "status": self.status,
            "title": self.title,
            "authenticity": self.authenticity,
            "reply_by": _iso(self.reply_by),
            "enforcement_at": _iso(self.enforcement_at),
            "next_deadline": _iso(deadline),
            "seconds_left": int((deadline - now).total_seconds()) if deadline else None,
            "opened_at": _iso(self.opened_at),
            "open_items": self.open_items,
            "account_name": self.account_name,
            "unknown_account": self.unknown_account,
        }


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    text_en: str
    text_ja: str
    done_at: datetime | None
    done_by: str | None


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    type: str
    actor: str
    summary: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class MessageVerdict:
    """One message of a case and why it is (or is not) believed to come from AWS."""

    message_id: str | None
    subject: str | None
    authenticity: str | None
    reasons: tuple[dict[str, str], ...]
    """``{"code", "en", "ja"}`` each; a plain string (older rows) is shown as is in both languages."""

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "subject": self.subject,
            "authenticity": self.authenticity,
            "reasons": list(self.reasons),
        }


def _reasons(stored: Any) -> tuple[dict[str, str], ...]:
    return tuple(
        item if isinstance(item, dict) else {"code": "", "en": str(item), "ja": str(item)}
        for item in stored or ()
    )


@dataclass(frozen=True)
class CaseDetail:
    summary: CaseSummary
    facts: Facts
    checklist: tuple[ChecklistItem, ...]
    timeline: tuple[TimelineEvent, ...]
    runbooks: tuple[Runbook, ...]
    message_ids: tuple[str, ...]
    clock_note: dict[str, str]
    message_verdicts: tuple[MessageVerdict, ...] = ()
    enforcement_undated: dict[str, str] = field(default_factory=lambda: {"en": "", "ja": ""})
    """Shown where the enforcement date would be when there is none ("AWS decides the window")."""

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            **self.summary.to_json(now),
            "facts": self.facts.to_json(),
            "clock_note": self.clock_note,
            "enforcement_undated": self.enforcement_undated,
            "checklist": [
                {
                    "key": item.key,
                    "en": item.text_en,
                    "ja": item.text_ja,
                    "done_at": _iso(item.done_at),
                    "done_by": item.done_by,
                }
                for item in self.checklist
            ],
            "timeline": [
                {
                    "at": _iso(event.at),
                    "type": event.type,
                    "actor": event.actor,
                    "summary": event.summary,
                    "detail": event.detail,
                }
                for event in self.timeline
            ],
            "runbooks": [
                {
                    "name": book.name,
                    "title": book.title,
                    "cause": book.cause,
                    "if_ignored": book.if_ignored,
                    "references": [
                        {"title": ref.title, "url": ref.url, "url_ja": ref.url_ja} for ref in book.references
                    ],
                    "facts": [
                        {"en": f.en, "ja": f.ja, "source": f.source, "url": f.url, "url_ja": f.url_ja}
                        for f in book.facts
                    ],
                }
                for book in self.runbooks
            ],
            "message_ids": list(self.message_ids),
            "messages": [verdict.to_json() for verdict in self.message_verdicts],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _summary_query(case_id: int | None = None) -> Any:
    """Cases with their open checklist items; of one case only, its items only are counted."""
    open_items: ColumnElement[bool] = checklist_items.c.done_at.is_(None)
    if case_id is not None:
        open_items = and_(open_items, checklist_items.c.case_id == case_id)
    counts = (
        select(checklist_items.c.case_id, func.count().label("open_items"))
        .where(open_items)
        .group_by(checklist_items.c.case_id)
        .subquery()
    )
    registry_in_use = exists(select(accounts.c.account_id)).label("registry_in_use")
    return (
        select(
            cases,
            func.coalesce(counts.c.open_items, 0).label("open_items"),
            accounts.c.name.label("account_name"),
            registry_in_use,
        )
        .outerjoin(counts, counts.c.case_id == cases.c.id)
        .outerjoin(accounts, accounts.c.account_id == cases.c.account_id)
    )


def _summary(row: Any) -> CaseSummary:
    return summary_of(
        row,
        row.open_items,
        account_name=row.account_name,
        unknown_account=bool(row.account_id and row.account_name is None and row.registry_in_use),
    )


def summary_of(
    row: Any, open_items: int, *, account_name: str | None = None, unknown_account: bool = False
) -> CaseSummary:
    """A ``cases`` row (its summary columns) as a ``CaseSummary``, with what the row lacks."""
    return CaseSummary(
        id=row.id,
        account_id=row.account_id,
        kind=row.kind,
        case_ref=row.case_ref,
        stage=row.stage,
        status=row.status,
        title=row.title,
        authenticity=row.authenticity,
        reply_by=row.reply_by,
        enforcement_at=row.enforcement_at,
        opened_at=row.opened_at,
        open_items=open_items,
        account_name=account_name,
        unknown_account=unknown_account,
    )


def list_cases(engine: Engine, include_resolved: bool = False) -> list[CaseSummary]:
    """The case board: nearest deadline first, cases without a clock last."""
    query = _summary_query()
    if not include_resolved:
        query = query.where(cases.c.status != "resolved")
    with engine.connect() as connection:
        summaries = [_summary(row) for row in connection.execute(query)]
    return sorted(summaries, key=lambda case: (case.next_deadline is None, case.next_deadline or 0, case.id))


def open_cases_by_urgency(engine: Engine, now: datetime) -> dict[str, int]:
    """How many cases are open in each urgency (every label present, zero or not)."""
    counts = dict.fromkeys(URGENCIES, 0)
    query = select(cases.c.reply_by, cases.c.enforcement_at).where(cases.c.status != "resolved")
    with engine.connect() as connection:
        for reply_by, enforcement_at in connection.execute(query):
            deadline = min((t for t in (reply_by, enforcement_at) if t is not None), default=None)
            counts[urgency(deadline, now)] += 1
    return counts


def case_messages(connection: Connection, case_id: int, *columns: ColumnElement[Any]) -> Sequence[Row[Any]]:
    """The given columns of a case's messages, in the order they arrived."""
    return connection.execute(
        select(*columns).where(messages.c.case_id == case_id).order_by(messages.c.id)
    ).all()


def get_case(engine: Engine, case_id: int) -> CaseDetail:
    with engine.connect() as connection:
        row = connection.execute(_summary_query(case_id).where(cases.c.id == case_id)).first()
        if row is None:
            raise NotFoundError(f"no case {case_id}")
        items = connection.execute(
            select(checklist_items)
            .where(checklist_items.c.case_id == case_id)
            .order_by(checklist_items.c.position)
        ).all()
        events = connection.execute(
            select(case_events)
            .where(case_events.c.case_id == case_id)
            .order_by(case_events.c.at, case_events.c.id)
        ).all()
        message_rows = case_messages(
            connection,
            case_id,
            messages.c.message_id,
            messages.c.subject,
            messages.c.authenticity,
            messages.c.authenticity_reasons,
        )
        message_ids = [m.message_id for m in message_rows]
    facts = Facts.from_json(row.facts)
    rule = clock_rule(Kind(row.kind))
    return CaseDetail(
        summary=_summary(row),
        facts=facts,
        checklist=tuple(ChecklistItem(i.item_key, i.text_en, i.text_ja, i.done_at, i.done_by) for i in items),
        timeline=tuple(TimelineEvent(e.at, e.type, e.actor, e.summary, e.detail) for e in events),
        runbooks=tuple(runbooks_for(row.kind, facts.abuse_types)),
        message_ids=tuple(mid for mid in message_ids if mid),
        clock_note={"en": rule.note_en, "ja": rule.note_ja} if rule else {"en": "", "ja": ""},
        enforcement_undated={"en": rule.undated_en, "ja": rule.undated_ja} if rule else {"en": "", "ja": ""},
        message_verdicts=tuple(
            MessageVerdict(m.message_id, m.subject, m.authenticity, _reasons(m.authenticity_reasons))
            for m in message_rows
        ),
    )


def check_item(
    engine: Engine, case_id: int, item_key: str, actor: str, now: datetime, done: bool = True
) -> ChecklistItem:
    """Tick (or untick) one checklist item; the change goes on the timeline."""
    with engine.begin() as connection:
        row = connection.execute(
            select(checklist_items).where(
                checklist_items.c.case_id == case_id, checklist_items.c.item_key == item_key
            )
        ).first()
        if row is None:
            keys = (
                connection.execute(
                    select(checklist_items.c.item_key).where(checklist_items.c.case_id == case_id)
                )
                .scalars()
                .all()
            )
            if not keys:
                raise NotFoundError(f"no case {case_id} with a checklist")
            raise NotFoundError(
                f"case {case_id} has no checklist item {item_key!r} (items: {', '.join(keys)})"
            )
        connection.execute(
            update(checklist_items)
            .where(checklist_items.c.id == row.id)
            .values(done_at=now if done else None, done_by=actor if done else None)
        )
        record(
            connection,
            case_id,
            now,
            "checklist",
            f"{'done' if done else 'reopened'}: {item_key}",
            {"item": item_key, "done": done},
            actor=actor,
        )
        connection.execute(update(cases).where(cases.c.id == case_id).values(updated_at=now))
    return ChecklistItem(
        row.item_key, row.text_en, row.text_ja, now if done else None, actor if done else None
    )
