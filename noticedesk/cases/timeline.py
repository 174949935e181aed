"""The append-only timeline of a case: every event goes through ``record``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from noticedesk.store.tables import case_events

SYSTEM_ACTOR = "noticedesk"
_INSERT = insert(case_events)  # built once: a statement per event costs a fresh cache key


def record(
    connection: Connection,
    case_id: int,
    at: datetime,
    type_: str,
    summary: str,
    detail: dict[str, Any] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> None:
    connection.execute(
        _INSERT,
        {
            "case_id": case_id,
            "at": at,
            "type": type_,
            "actor": actor,
            "summary": summary,
            "detail": detail or {},
        },
    )
