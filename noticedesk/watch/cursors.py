"""How far each IMAP mailbox was read: its UIDVALIDITY and the last UID filed, kept in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from noticedesk.feedback.ingest import insert_for
from noticedesk.store.tables import watch_cursors


@dataclass(frozen=True)
class Cursor:
    uid_validity: int
    last_uid: int


def load_cursor(engine: Engine, source: str) -> Cursor | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(watch_cursors.c.uid_validity, watch_cursors.c.last_uid).where(
                watch_cursors.c.source == source
            )
        ).first()
    return None if row is None else Cursor(int(row.uid_validity), int(row.last_uid))


def save_cursor(engine: Engine, source: str, cursor: Cursor, now: datetime) -> None:
    """Move the cursor forward (never back: another watcher of the same mailbox may be ahead)."""
    with engine.begin() as connection:
        statement = insert_for(connection, watch_cursors).values(
            source=source, uid_validity=cursor.uid_validity, last_uid=cursor.last_uid, updated_at=now
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["source"],
                set_={
                    "uid_validity": cursor.uid_validity,
                    "last_uid": cursor.last_uid,
                    "updated_at": now,
                },
                where=(watch_cursors.c.uid_validity != cursor.uid_validity)
                | (watch_cursors.c.last_uid < cursor.last_uid),
            )
        )
