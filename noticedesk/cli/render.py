"""Shared pieces of terminal output: JSON lines, times left, colours by urgency."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def time_left(deadline: datetime | None, now: datetime) -> str:
    if deadline is None:
        return "-"
    seconds = int((deadline - now).total_seconds())
    sign = "overdue " if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m"
    return sign + text


def urgency_style(deadline: datetime | None, now: datetime) -> str:
    if deadline is None:
        return "dim"
    hours = (deadline - now).total_seconds() / 3600
    if hours < 0:
        return "bold red"
    if hours < 24:
        return "red"
    if hours < 72:
        return "yellow"
    return "green"


def short_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"
