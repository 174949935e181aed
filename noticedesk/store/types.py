"""Column types shared by every table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: times are aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else utc_from_store(value)


def utc_from_store(value: str | datetime) -> datetime:
    """A stored time (SQLite text, PostgreSQL ``timestamptz``) → aware UTC."""
    parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def sqlite_text(value: datetime) -> str:
    """What ``UtcDateTime`` stores on SQLite, several times cheaper than SQLAlchemy's own path.

    For the bulk statements (``store.bulk``); a test holds the two equal.
    """
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store: times are aware UTC")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.isoformat(" ")[:-6]  # without its "+00:00"
    return text if value.microsecond else text + ".000000"
