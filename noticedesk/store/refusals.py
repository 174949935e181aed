"""What a store raises for values it will not take, and the one line that says why.

PostgreSQL refuses NUL in text and a value longer than its column; SQLite and the drivers refuse a
lone surrogate; both refuse a unique key another writer took meanwhile. A batch that meets one is
stored again input by input, so that the refused input costs only itself (cases/triage.py,
feedback/store.py). A lost connection or a read-only store is not a refusal: it ends the command.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from noticedesk.store.types import storable_text

REFUSED = (DataError, IntegrityError, UnicodeError)


def refusal_reason(failure: Exception) -> str:
    """``DataError: value too long for type character varying(320)``: the driver's first line."""
    cause = failure.orig if isinstance(failure, DBAPIError) else failure
    lines = str(cause).strip().splitlines()
    return storable_text(f"{type(cause).__name__}: {lines[0] if lines else ''}")[:300]
