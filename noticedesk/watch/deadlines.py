"""The deadline clocks: which cases' reply-by or enforcement time is near or past, as alerts.

``due_alerts`` is pure: cases and a time in, alerts out. Each alert carries a dedupe key made of
the case, the deadline, its time and the warning it crossed, so the outbox holds it once however
often the clocks run; a reminder that moves the deadline makes new keys (it warns again).
Only the closest warning crossed is raised: a case opened 90 minutes before its reply-by gets
the 2-hour warning, not the 12-hour one as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Column, ColumnElement, Connection, Engine, and_, or_, select

from noticedesk.notices.model import Stage
from noticedesk.store.tables import cases

Which = Literal["reply_by", "enforcement"]
AlertKind = Literal["deadline.approaching", "deadline.missed"]
_ACTED = frozenset({Stage.FINAL.value, Stage.PAUSED.value, Stage.APPEAL_REFUSED.value, Stage.RESOLVED.value})
"""Stages at which AWS has acted already: its enforcement time is no longer ahead of anyone."""


@dataclass(frozen=True)
class OpenCase:
    id: int
    account_id: str | None
    kind: str
    stage: str
    status: str
    title: str
    reply_by: datetime | None
    enforcement_at: datetime | None


@dataclass(frozen=True)
class DeadlineAlert:
    kind: AlertKind
    case: OpenCase
    which: Which
    deadline: datetime
    hours_before: float | None
    """The warning crossed (hours before the deadline); None for a missed deadline."""
    now: datetime

    @property
    def dedupe_key(self) -> str:
        stamp = self.deadline.strftime("%Y%m%dT%H%MZ")
        if self.hours_before is None:
            return f"deadline-missed:{self.case.id}:{self.which}:{stamp}"
        return f"deadline:{self.case.id}:{self.which}:{stamp}:{self.hours_before:g}h"

    @property
    def command(self) -> str:
        if self.which == "reply_by":
            return f"noticedesk reply {self.case.id}"
        return f"noticedesk summary {self.case.id}"

    def facts(self) -> dict[str, str]:
        """What the message needs (notify/data/messages.toml); the time left is counted at sending."""
        facts = {
            "case_kind": self.case.kind,
            "stage": self.case.stage,
            "title": self.case.title,
            "deadline": self.deadline.isoformat(),
            "deadline_label": self.which,
            "command": self.command,
        }
        if self.hours_before is not None:
            facts["warning_hours"] = f"{self.hours_before:g}"
        return facts

    def to_log(self) -> dict[str, object]:
        return {
            "event": self.kind,
            "case_id": self.case.id,
            "deadline_label": self.which,
            "deadline": self.deadline.isoformat(),
            "warning_hours": self.hours_before,
            "dedupe_key": self.dedupe_key,
        }


def due_alerts(
    open_cases: Iterable[OpenCase], now: datetime, warnings_hours: Sequence[float], missed_within: timedelta
) -> list[DeadlineAlert]:
    warnings = sorted(warnings_hours)
    alerts: list[DeadlineAlert] = []
    for case in open_cases:
        if case.status == "resolved":
            continue
        clocks: list[tuple[Which, datetime | None]] = [
            ("reply_by", None if case.status == "replied" else case.reply_by),
            ("enforcement", None if case.stage in _ACTED else case.enforcement_at),
        ]
        for which, deadline in clocks:
            if deadline is None:
                continue
            if now >= deadline:
                if now - deadline <= missed_within:
                    alerts.append(DeadlineAlert("deadline.missed", case, which, deadline, None, now))
                continue
            crossed = next((hours for hours in warnings if deadline - now <= timedelta(hours=hours)), None)
            if crossed is not None:
                alerts.append(DeadlineAlert("deadline.approaching", case, which, deadline, crossed, now))
    return alerts


def cases_near_deadline(
    connection: Connection, now: datetime, warnings_hours: Sequence[float], missed_within: timedelta
) -> list[OpenCase]:
    """The open cases with a deadline inside the window the alerts look at."""
    ahead = now + timedelta(hours=max(warnings_hours, default=0))
    behind = now - missed_within

    def near(column: Column[datetime]) -> ColumnElement[bool]:
        return and_(column.is_not(None), column >= behind, column <= ahead)

    rows = connection.execute(
        select(
            cases.c.id,
            cases.c.account_id,
            cases.c.kind,
            cases.c.stage,
            cases.c.status,
            cases.c.title,
            cases.c.reply_by,
            cases.c.enforcement_at,
        )
        .where(cases.c.status != "resolved", or_(near(cases.c.reply_by), near(cases.c.enforcement_at)))
        .order_by(cases.c.id)
    )
    return [OpenCase(*row) for row in rows]


def raise_deadline_alerts(
    engine: Engine,
    enqueue: Callable[[Connection, DeadlineAlert, datetime], int],
    now: datetime,
    warnings_hours: Sequence[float],
    missed_within: timedelta,
) -> list[DeadlineAlert]:
    """One run of the clocks: the alerts due at ``now``, each handed to ``enqueue`` in one
    transaction; the ones it took as new. Any number of processes may run it at once (the
    watcher, every worker): an alert's dedupe key makes the outbox hold it once."""
    with engine.begin() as connection:
        near = cases_near_deadline(connection, now, warnings_hours, missed_within)
        return [
            alert
            for alert in due_alerts(near, now, warnings_hours, missed_within)
            if enqueue(connection, alert, now)
        ]
