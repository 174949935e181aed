"""Dead letters: SQS messages no worker could process, kept in the store with the reason.

One row per (queue, message id): a message dead-lettered again (redelivered before its delete
reached SQS) changes nothing. The body is kept whole, so nothing is lost even where no
dead-letter queue is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from noticedesk.store import bulk
from noticedesk.store.tables import queue_dead_letters
from noticedesk.text import storable_text

_COLUMNS = ("queue", "queue_url", "message_id", "body", "reason", "receive_count", "sent_at", "dead_at")


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    queue_url: str
    message_id: str
    body: str
    reason: str
    receive_count: int
    sent_at: datetime | None
    dead_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "queue_url": self.queue_url,
            "message_id": self.message_id,
            "reason": self.reason,
            "receive_count": self.receive_count,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "dead_at": self.dead_at.isoformat(),
            "body": self.body,
        }


def record_dead_letters(engine: Engine, letters: Sequence[DeadLetter]) -> int:
    """Store the letters not stored yet (one transaction); how many were new."""
    rows = [
        (
            f"{letter.queue}:{letter.message_id}"[:200],
            letter.queue,
            letter.queue_url[:1000],
            letter.message_id[:100],
            storable_text(letter.body),
            storable_text(letter.reason)[:2000],
            letter.receive_count,
            letter.sent_at,
            letter.dead_at,
        )
        for letter in letters
    ]
    with engine.begin() as connection:
        return len(
            bulk.insert_new(connection, queue_dead_letters, ("letter_key", *_COLUMNS), rows, "letter_key")
        )


def list_dead_letters(engine: Engine, queue: str | None = None, limit: int = 100) -> list[DeadLetter]:
    """The newest dead letters first, of one queue or of all."""
    table = queue_dead_letters
    query = select(*(table.c[name] for name in _COLUMNS)).order_by(table.c.id.desc()).limit(limit)
    if queue is not None:
        query = query.where(table.c.queue == queue)
    with engine.connect() as connection:
        return [DeadLetter(*row) for row in connection.execute(query)]
