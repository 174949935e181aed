"""One process at a time for a piece of work every process could start (a scheduled scan).

PostgreSQL: a session advisory lock taken with ``pg_try_advisory_lock`` on a connection of its own,
held while the work runs: another process asking meanwhile is told no at once and skips it, and
a process that dies releases it with its connection. SQLite has a single host: its processes
share the file's write lock instead, and the work is not skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


def lock_key(name: str) -> int:
    """A signed 64-bit key for ``name`` (PostgreSQL's advisory lock keys are bigint)."""
    return int.from_bytes(hashlib.sha256(f"noticedesk:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """True inside when this process holds ``name`` now; False when another one does."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = lock_key(name)
    with engine.connect() as connection:
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one())
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
