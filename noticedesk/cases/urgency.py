"""How near a case's next deadline is, in five words: the board's colours, the metrics' labels. Pure."""

from __future__ import annotations

from datetime import datetime

URGENCIES = ("overdue", "under-24h", "under-72h", "later", "no-deadline")


def urgency(deadline: datetime | None, now: datetime) -> str:
    if deadline is None:
        return "no-deadline"
    hours = (deadline - now).total_seconds() / 3600
    if hours < 0:
        return "overdue"
    if hours < 24:
        return "under-24h"
    return "under-72h" if hours < 72 else "later"
