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


def without_nul(text: str) -> str:
    """The text with NUL shown as U+FFFD: an encoded word, a quoted-printable ``=00`` or a JSON
    ``\\u0000`` can decode to NUL, which no notice means and PostgreSQL's text columns refuse."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def storable_text(text: str) -> str:
    """``text`` as every store, JSON and terminal take it: NUL shown as U+FFFD (PostgreSQL refuses
    it), and a lone surrogate (a byte of a file name that is not UTF-8, as Python reads it) written
    as an escape, ``\\xff``. Text without either comes back as it is."""
    text = without_nul(text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate outside the file-name range
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
