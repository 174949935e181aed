"""The clock: aware UTC now. Built at the edges (cli, web) and handed down as a parameter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""What code that needs the time takes: called for "now", aware UTC; a test hands in a fixed one."""


def utc_now() -> datetime:
    return datetime.now(UTC)
