"""A reply draft as a person edited it: saved on the case's timeline, read back for the next edit.

The draft NoticeDesk composes (``draft_reply``) is where editing starts; once someone saves their
own text, that text is the draft until the reply is marked sent (``mark_sent`` records what went).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from noticedesk.cases.timeline import record
from noticedesk.errors import NotFoundError, ReplyError
from noticedesk.replies.phrasebook import mask_keys
from noticedesk.store.tables import case_events, cases

EDITED = "reply-edited"
MAX_REPLY_CHARS = 100_000


@dataclass(frozen=True)
class SavedDraft:
    text: str
    saved_by: str
    saved_at: datetime


def save_draft(engine: Engine, case_id: int, text: str, now: datetime, actor: str) -> SavedDraft:
    """Keep ``text`` as the case's reply draft. Access key ids are masked, except those the case's
    notice names: the reply to AWS names them in full, as the composed draft does."""
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyError(f"a reply of more than {MAX_REPLY_CHARS} characters is not a reply")
    with engine.begin() as connection:
        facts = connection.execute(select(cases.c.facts).where(cases.c.id == case_id)).scalar()
        if facts is None:
            raise NotFoundError(f"no case {case_id}")
        named = tuple(str(key) for key in (facts.get("access_key_ids") or ()))
        text = mask_keys(text.replace("\r\n", "\n"), keep=named)
        record(
            connection,
            case_id,
            now,
            EDITED,
            f"reply draft edited by {actor}",
            {"text": text, "body_sha256": hashlib.sha256(text.encode()).hexdigest()},
            actor=actor,
        )
    return SavedDraft(text, actor, now)


def saved_draft(engine: Engine, case_id: int) -> SavedDraft | None:
    """The last text saved since the last reply was sent, if any."""
    with engine.connect() as connection:
        row = connection.execute(
            select(case_events.c.type, case_events.c.detail, case_events.c.actor, case_events.c.at)
            .where(case_events.c.case_id == case_id, case_events.c.type.in_((EDITED, "reply-sent")))
            .order_by(case_events.c.at.desc(), case_events.c.id.desc())
            .limit(1)
        ).first()
    if row is None or row.type != EDITED:
        return None
    return SavedDraft(str(row.detail.get("text", "")), row.actor, row.at)
