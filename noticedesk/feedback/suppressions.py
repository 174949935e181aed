"""The local suppression list as people and applications read it: one address, or all of them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from noticedesk.feedback.verdicts import in_force
from noticedesk.store.tables import ses_suppressions


@dataclass(frozen=True)
class Suppression:
    """A row of the local suppression list, as the CLI and the API show it. Its fields are the
    table's columns (``COLUMNS``); the defaults are those of an address with no history."""

    address: str
    suppressed: bool = False
    reason: str | None = None
    cause: str | None = None
    """permanent-bounce, complaint, ses-suppressed, repeated-soft-bounce, repeated-undetermined-bounce,
    ses-account-list (imported from SES)."""
    expires_at: datetime | None = None
    flagged: bool = False
    """Undetermined bounces seen."""
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    hard_bounce_count: int = 0
    soft_bounce_count: int = 0
    complaint_count: int = 0
    undetermined_count: int = 0
    reasons: list[str] = field(default_factory=list)
    source_message_ids: list[str] = field(default_factory=list)
    at_ses: bool = False
    synced_at: datetime | None = None

    def active_at(self, now: datetime) -> bool:
        """Suppressed now: by our verdict (unless a soft-bounce suppression expired) or by SES."""
        return in_force(self.suppressed, self.expires_at, now) or self.at_ses

    def to_json(self, now: datetime) -> dict[str, Any]:
        """Every column, times in ISO 8601; ``suppressed`` is whether it is in force at ``now``."""
        values = {name: getattr(self, name) for name in COLUMNS}
        values["suppressed"] = self.active_at(now)
        for name in ("expires_at", "first_event_at", "last_event_at", "synced_at"):
            values[name] = _iso(values[name])
        return values


COLUMNS: tuple[str, ...] = tuple(item.name for item in fields(Suppression))
"""The columns of ``ses_suppressions`` a record holds (all but ``id`` and ``updated_at``), in order:
the one list of them (the verdicts' upsert, the SES import, the CSV export read it)."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _suppression(row: Any) -> Suppression:
    return Suppression(**{name: row._mapping[name] for name in COLUMNS})


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


def search_suppressions(connection: Connection, needle: str, limit: int = 200) -> list[Suppression]:
    """Addresses containing ``needle`` (every address with history, active or not), the first ``limit``."""
    query = select(ses_suppressions).order_by(ses_suppressions.c.address).limit(limit)
    if needle.strip():
        query = query.where(ses_suppressions.c.address.contains(needle.strip().lower(), autoescape=True))
    return [_suppression(row) for row in connection.execute(query)]
