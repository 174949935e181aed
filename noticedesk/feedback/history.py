"""Bounce and complaint rates day by day, per account and per identity: the SES page's chart.

Each day's rate counts that day's hourly buckets with the denominator rule of ``rates.py``
(sends, or deliveries + bounces when larger); a day without sends has no point.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from noticedesk.store.tables import ses_send_counts


@dataclass(frozen=True)
class DayRate:
    day: datetime
    """Midnight UTC of the day."""
    denominator: int
    hard_bounces: int
    complaints: int

    @property
    def bounce_rate(self) -> float:
        return self.hard_bounces / self.denominator

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.denominator

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.date().isoformat(),
            "denominator": self.denominator,
            "hard_bounces": self.hard_bounces,
            "complaints": self.complaints,
            "bounce_rate": self.bounce_rate,
            "complaint_rate": self.complaint_rate,
        }


@dataclass(frozen=True)
class RateSeries:
    scope: str  # account | identity
    key: str  # "<account>" or "<account>/<region>/<identity>"
    days: tuple[DayRate, ...]

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "key": self.key, "days": [day.to_json() for day in self.days]}


def daily_rates(connection: Connection, now: datetime, days: int) -> list[RateSeries]:
    """The last ``days`` days (today included), one series per account and per identity."""
    start = datetime.combine((now - timedelta(days=days - 1)).date(), time(), tzinfo=now.tzinfo)
    rows = connection.execute(
        select(ses_send_counts).where(
            ses_send_counts.c.bucket_start >= start, ses_send_counts.c.bucket_start <= now
        )
    )
    totals: dict[tuple[str, str], dict[datetime, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0] * 5)
    )
    for row in rows:
        account = row.account_id or "-"
        day = datetime.combine(row.bucket_start.date(), time(), tzinfo=row.bucket_start.tzinfo)
        for scope, key in (
            ("account", account),
            ("identity", f"{account}/{row.region or '-'}/{row.identity or '-'}"),
        ):
            total = totals[(scope, key)][day]
            total[0] += row.sends
            total[1] += row.deliveries
            total[2] += row.hard_bounces
            total[3] += row.soft_bounces
            total[4] += row.complaints
    series = []
    for (scope, key), by_day in totals.items():
        points = []
        for day, (sends, deliveries, hard, soft, complaints) in sorted(by_day.items()):
            denominator = max(sends, deliveries + hard + soft)
            if denominator:
                points.append(DayRate(day, denominator, hard, complaints))
        if points:
            series.append(RateSeries(scope, key, tuple(points)))
    return sorted(series, key=lambda item: (item.scope != "account", item.key))
