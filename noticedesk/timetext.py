"""Times as people read them: UTC, Japan time (日本時間), and the time left until a deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")  # Japan keeps no daylight saving time


def time_left(deadline: datetime, now: datetime, lang: str) -> str:
    """How long until ``deadline`` (or how long past it), as the summaries and the reply warn."""
    seconds = int((deadline - now).total_seconds())
    overdue, seconds = seconds < 0, abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if lang == "ja":
        span = f"{days} 日 {hours} 時間" if days else f"{hours} 時間 {minutes:02d} 分"
        return f"{span}超過" if overdue else f"あと {span}"
    span = f"{days} d {hours} h" if days else f"{hours} h {minutes:02d} min"
    return f"overdue by {span}" if overdue else f"{span} left"


def utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def jst(value: datetime | None) -> str:
    if value is None:
        return "-"
    local = value.astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（日本時間）"
