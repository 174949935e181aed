"""The local suppression list as people and applications read it: one address, or all of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from noticedesk.feedback.verdicts import in_force
from noticedesk.store.tables import ses_suppressions


@dataclass(frozen=True)
class Suppression:
    """A row of the local suppression list, as the CLI and the API show it."""

    address: str
    suppressed: bool
    reason: str | None
    cause: str | None
    expires_at: datetime | None
    flagged: bool
    first_event_at: datetime | None
    last_event_at: datetime | None
    hard_bounce_count: int
    soft_bounce_count: int
    complaint_count: int
    undetermined_count: int
    reasons: list[str]
    source_message_ids: list[str]
    at_ses: bool
    synced_at: datetime | None

    def active_at(self, now: datetime) -> bool:
        """Suppressed now: by our verdict (unless a soft-bounce suppression expired) or by SES."""
        return in_force(self.suppressed, self.expires_at, now) or self.at_ses

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "address": self.address,
            "suppressed": self.active_at(now),
            "reason": self.reason,
            "cause": self.cause,
            "expires_at": _iso(self.expires_at),
            "flagged": self.flagged,
            "first_event_at": _iso(self.first_event_at),
            "last_event_at": _iso(self.last_event_at),
            "hard_bounce_count": self.hard_bounce_count,
            "soft_bounce_count": self.soft_bounce_count,
            "complaint_count": self.complaint_count,
            "undetermined_count": self.undetermined_count,
            "reasons": self.reasons,
            "source_message_ids": self.source_message_ids,
            "at_ses": self.at_ses,
            "synced_at": _iso(self.synced_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _suppression(row: Any) -> Suppression:
    return Suppression(**{name: row._mapping[name] for name in Suppression.__dataclass_fields__})


def find_suppression(connection: Connection, address: str) -> Suppression | None:
    row = connection.execute(select(ses_suppressions).where(ses_suppressions.c.address == address)).first()
    return _suppression(row) if row is not None else None


def list_suppressions(
    connection: Connection, now: datetime, include_inactive: bool = False
) -> list[Suppression]:
    """Every address on the list (active now), or every address with history when asked."""
    rows = connection.execute(select(ses_suppressions).order_by(ses_suppressions.c.address))
    found = [_suppression(row) for row in rows]
    return found if include_inactive else [item for item in found if item.active_at(now)]
