"""The effects of replying: a drafted reply and a sent reply go on the case's timeline.

``mark_sent`` also moves the case to ``replied``, stops its reply-by clock (the old deadline
stays in the event's detail) and ticks the runbook's reply step (checklist keys ``reply…``).
A resolved case keeps its status: AWS closed it already.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from noticedesk.cases.queries import check_item
from noticedesk.cases.timeline import record
from noticedesk.errors import NotFoundError
from noticedesk.notify.emitters import reply_sent
from noticedesk.notify.outbox import enqueue
from noticedesk.replies.compose import Draft
from noticedesk.replies.phrasebook import mask_keys
from noticedesk.store.tables import cases, checklist_items


@dataclass(frozen=True)
class SentReply:
    case_id: int
    status: str
    previous_status: str
    previous_reply_by: datetime | None


def record_drafted(engine: Engine, draft: Draft, output_format: str, now: datetime, actor: str) -> None:
    with engine.begin() as connection:
        record(
            connection,
            draft.case_id,
            now,
            "reply-drafted",
            f"reply drafted ({output_format}): {draft.status_line}",
            {
                "format": output_format,
                "variant": draft.variant,
                "subject": draft.subject,
                "to": draft.to,
                "via": draft.via,
                "open_items": len(draft.open_items),
                "warnings": list(draft.warnings),
                "body_sha256": hashlib.sha256(draft.body.encode()).hexdigest(),
            },
            actor=actor,
        )


def mark_sent(engine: Engine, case_id: int, text: str, now: datetime, actor: str) -> SentReply:
    """Record what was sent to AWS; the case is ``replied`` and waits on no reply-by clock."""
    with engine.begin() as connection:
        row = connection.execute(
            select(cases.c.status, cases.c.reply_by, cases.c.account_id, cases.c.kind).where(
                cases.c.id == case_id
            )
        ).first()
        if row is None:
            raise NotFoundError(f"no case {case_id}")
        status = row.status if row.status == "resolved" else "replied"
        connection.execute(
            update(cases).where(cases.c.id == case_id).values(status=status, reply_by=None, updated_at=now)
        )
        record(
            connection,
            case_id,
            now,
            "reply-sent",
            f"reply sent to AWS by {actor}",
            {
                "text": mask_keys(text),
                "sent_by": actor,
                "previous_status": row.status,
                "previous_reply_by": row.reply_by.isoformat() if row.reply_by else None,
            },
            actor=actor,
        )
        told = reply_sent(case_id, row.account_id, kind=row.kind, by=actor, at=now)
        enqueue(connection, told, now=now)
        reply_items = (
            connection.execute(
                select(checklist_items.c.item_key).where(
                    checklist_items.c.case_id == case_id,
                    checklist_items.c.done_at.is_(None),
                    checklist_items.c.item_key.startswith("reply"),
                )
            )
            .scalars()
            .all()
        )
    for key in reply_items:  # the runbook's "reply to AWS" step is done now
        check_item(engine, case_id, key, actor, now)
    return SentReply(case_id, status, row.status, row.reply_by)
