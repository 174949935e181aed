"""Rows a triage batch writes, held back and inserted with one ``executemany`` per table.

A batch of 500 notices used to run some 2,500 single-row statements; most were inserts nobody
reads back within the batch. Those wait here and go in at the end of the batch, in order, in the
same transaction. The few reads that could see them flush first: a thread lookup that names a
held message's Message-ID, and the checklist of a case already in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert

from noticedesk.cases.timeline import SYSTEM_ACTOR
from noticedesk.store.tables import case_events, checklist_items, messages

_INSERT_MESSAGES = insert(messages)
_INSERT_EVENTS = insert(case_events)
_INSERT_ITEMS = insert(checklist_items)


@dataclass
class Pending:
    """Message rows, timeline events and checklist items not yet written."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    message_ids: set[str] = field(default_factory=set)

    def add_message(self, row: dict[str, Any]) -> None:
        self.messages.append(row)
        if row.get("message_id") and row.get("case_id") is not None:
            self.message_ids.add(row["message_id"])

    def add_event(self, row: dict[str, Any]) -> None:
        self.events.append({"actor": SYSTEM_ACTOR, **row})

    def holds_any(self, message_ids: tuple[str, ...]) -> bool:
        return any(message_id in self.message_ids for message_id in message_ids)

    def flush(self, connection: Connection) -> None:
        """Write every held row (messages first: events and items only name cases)."""
        for statement, rows in (
            (_INSERT_MESSAGES, self.messages),
            (_INSERT_EVENTS, self.events),
            (_INSERT_ITEMS, self.items),
        ):
            if rows:
                connection.execute(statement, rows)
        self.messages, self.events, self.items = [], [], []
        self.message_ids = set()
