"""Shared pieces of terminal output: JSON lines, times left, colours by urgency.

The output edge: everything the CLI prints goes through ``echo``, ``echo_json`` or a
``SafeConsole``, which show the control characters of mail- and AWS-supplied text as escapes
(``noticedesk.printable``), so a subject cannot erase lines or paint itself "verified".
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from noticedesk.cases.urgency import urgency
from noticedesk.printable import printable, printable_json


class SafeConsole(Console):
    """A Rich console whose every string (markup, table cell, title) is made printable first.

    Rich's own styles are added afterwards, so colours still work; an ESC that came with the
    data is shown as ``\\x1b``. ``Text`` objects built by hand bypass this: build them from
    ``printable(...)``.
    """

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(printable(text), **options)


def echo(message: str, *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of text that may hold mail- or AWS-supplied parts."""
    click.echo(printable(message), err=err, nl=nl)


def echo_json(data: Any) -> None:
    click.echo(printable_json(data))


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


_URGENCY_STYLES = {
    "overdue": "bold red",
    "under-24h": "red",
    "under-72h": "yellow",
    "later": "green",
    "no-deadline": "dim",
}


def urgency_style(deadline: datetime | None, now: datetime) -> str:
    return _URGENCY_STYLES[urgency(deadline, now)]


def short_time(value: datetime | None, tz: tzinfo = UTC) -> str:
    """``2026-12-03 09:00 JST``: a stored (UTC) time in the zone the user reads."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if value else "-"
