"""Filing one notice: open its case or move the case it belongs to, and record it on the timeline.

The statements are built once and run with bound parameters: building a statement per message
costs SQLAlchemy a fresh cache key each time, which was a fifth of the triage time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, insert, or_, select, update

from noticedesk.cases.joining import case_key, moved, status_after
from noticedesk.cases.pending import Pending
from noticedesk.cases.runbooks import checklist_for
from noticedesk.cases.timeline import record
from noticedesk.notices.clocks import Clocks
from noticedesk.notices.model import Authenticity, Facts, Notice
from noticedesk.store.tables import cases, checklist_items, messages

_COLUMNS = (
    cases.c.id,
    cases.c.facts,
    cases.c.stage,
    cases.c.status,
    cases.c.case_ref,
    cases.c.account_id,
    cases.c.last_notice_at,
    cases.c.authenticity,
)
_BY_THREAD = (
    select(*_COLUMNS)
    .join(messages, messages.c.case_id == cases.c.id)
    .where(
        messages.c.message_id.in_(bindparam("thread_ids", expanding=True)), cases.c.kind == bindparam("kind")
    )
    .limit(1)
)
_BY_KEY = select(*_COLUMNS).where(cases.c.case_key == bindparam("key"))
# The exact key, else (same account and kind, one side without a case reference) the newest open
# case of that kind: one round trip, the exact key sorted first.
_SAME_ACCOUNT = and_(
    cases.c.account_id == bindparam("account"),
    cases.c.kind == bindparam("kind"),
    cases.c.status != "resolved",
)
_EXACT_FIRST = case((cases.c.case_key == bindparam("key"), 0), else_=1)
_BY_KEY_OR_NEWEST_OPEN = (
    select(*_COLUMNS)
    .where(or_(cases.c.case_key == bindparam("key"), _SAME_ACCOUNT))
    .order_by(_EXACT_FIRST, cases.c.id.desc())
    .limit(1)
)
_BY_KEY_OR_NEWEST_OPEN_WITHOUT_REF = (
    select(*_COLUMNS)
    .where(or_(cases.c.case_key == bindparam("key"), and_(_SAME_ACCOUNT, cases.c.case_ref.is_(None))))
    .order_by(_EXACT_FIRST, cases.c.id.desc())
    .limit(1)
)
_INSERT_CASE = insert(cases).returning(cases.c.id)
_UPDATE_CASE = update(cases).where(cases.c.id == bindparam("case_id"))
_CHECKLIST_KEYS = select(checklist_items.c.item_key).where(checklist_items.c.case_id == bindparam("case_id"))
_INSERT_ITEM = insert(checklist_items)
_STRENGTH = {"failed": 0, "suspicious": 0, "unverified": 1, "verified": 2}


def opens_case(notice: Notice) -> bool:
    """A case is opened for a notice of a case kind, unless the mail shows signs of spoofing."""
    return notice.kind.opens_case and notice.authenticity is not Authenticity.SUSPICIOUS


def file_notice(
    connection: Connection,
    notice: Notice,
    clocks: Clocks,
    sent_at: datetime,
    received: datetime,
    pending: Pending | None = None,
) -> int:
    """The case id this notice now belongs to (opened or moved), with a timeline event.

    With ``pending``, the timeline event and checklist items are held there for the batch's
    ``executemany`` (see cases/pending.py) instead of being inserted one by one.
    """
    if pending is not None and notice.thread_ids and pending.holds_any(notice.thread_ids):
        pending.flush(connection)  # the thread lookup must see this batch's messages
    existing = find_case(connection, notice)

    def event(case_id: int, detail: dict[str, Any]) -> None:
        if pending is None:
            record(connection, case_id, received, "notice-received", summary, detail)
        else:
            pending.add_event(
                {
                    "case_id": case_id,
                    "at": received,
                    "type": "notice-received",
                    "summary": summary,
                    "detail": detail,
                }
            )

    summary = f"{notice.stage.value}: {notice.title or notice.kind.value}"
    facts_json = notice.facts.to_json()
    detail = {
        "kind": notice.kind.value,
        "stage": notice.stage.value,
        "sent_at": sent_at.isoformat(),
        "authenticity": notice.authenticity.value,
        "facts": facts_json,
    }
    if existing is None:
        case_id = int(
            connection.execute(
                _INSERT_CASE,
                {
                    "case_key": case_key(notice),
                    "account_id": notice.facts.account_id,
                    "kind": notice.kind.value,
                    "case_ref": notice.facts.case_ref,
                    "stage": notice.stage.value,
                    "status": status_after("new", notice.stage),
                    "title": notice.title,
                    "authenticity": notice.authenticity.value,
                    "facts": facts_json,
                    "reply_by": clocks.reply_by,
                    "enforcement_at": clocks.enforcement_at,
                    "last_notice_at": sent_at,
                    "opened_at": received,
                    "updated_at": received,
                },
            ).scalar_one()
        )
        event(case_id, detail)
        _add_checklist(connection, case_id, notice.kind.value, notice.facts.abuse_types, None, pending)
        return case_id
    if _STRENGTH[notice.authenticity.value] < _STRENGTH.get(existing.authenticity, 0):
        # A weaker message (say unverified or failed, on a verified case) could be a forgery
        # quoting a real case reference: it is kept on the timeline but moves nothing.
        detail["not_applied"] = f"message is {notice.authenticity.value}, the case is {existing.authenticity}"
        event(existing.id, detail)
        return int(existing.id)
    known = Facts.from_json(existing.facts)
    facts = known.merged_with(notice.facts)
    newest = existing.last_notice_at is None or sent_at >= existing.last_notice_at
    stage, status = moved(existing.stage, existing.status, notice.stage, newest)
    values: dict[str, Any] = {
        "case_id": existing.id,
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
        values.update(reply_by=clocks.reply_by, enforcement_at=clocks.enforcement_at, last_notice_at=sent_at)
    connection.execute(_UPDATE_CASE, values)
    event(existing.id, detail)
    if facts.abuse_types != known.abuse_types:  # only a new abuse type brings new steps
        if pending is not None:
            pending.flush(connection)  # the steps already there may still be held
        present = set(connection.execute(_CHECKLIST_KEYS, {"case_id": existing.id}).scalars())
        _add_checklist(connection, existing.id, notice.kind.value, facts.abuse_types, present, pending)
    return int(existing.id)


def _stronger(current: str, incoming: Authenticity) -> str:
    return incoming.value if _STRENGTH[incoming.value] > _STRENGTH.get(current, 0) else current


def find_case(connection: Connection, notice: Notice) -> Any:
    """The case a notice belongs to: same thread, else same key, else the account's open one."""
    kind = notice.kind.value
    if notice.thread_ids:
        threaded = connection.execute(
            _BY_THREAD, {"thread_ids": list(notice.thread_ids), "kind": kind}
        ).first()
        if threaded is not None:
            return threaded
    if notice.facts.account_id is None:
        return connection.execute(_BY_KEY, {"key": case_key(notice)}).first()
    # Same account and kind, and one side has no case reference: the newest open case of that kind.
    query = _BY_KEY_OR_NEWEST_OPEN_WITHOUT_REF if notice.facts.case_ref else _BY_KEY_OR_NEWEST_OPEN
    return connection.execute(
        query, {"key": case_key(notice), "account": notice.facts.account_id, "kind": kind}
    ).first()


def _add_checklist(
    connection: Connection,
    case_id: int,
    kind: str,
    abuse_types: tuple[str, ...],
    present: set[str] | None,
    pending: Pending | None,
) -> None:
    """Insert the steps not ``present`` yet (``None``: a new case, which has none)."""
    present = present or set()
    new_steps = [step for step in checklist_for(kind, abuse_types) if step.key not in present]
    if new_steps:
        rows = [
            {
                "case_id": case_id,
                "item_key": step.key,
                "position": len(present) + offset,
                "text_en": step.en,
                "text_ja": step.ja,
            }
            for offset, step in enumerate(new_steps)
        ]
        if pending is None:
            connection.execute(_INSERT_ITEM, rows)
        else:
            pending.items.extend(rows)
