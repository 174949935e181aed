"""The demo's samples moved to the day the demo runs, so they always tell the same story.

The sample notices were written for one moment (``SAMPLES_TOLD_AT``): then the forwarded report is
overdue, the abuse reminder asks for a reply within hours (and AWS may act at once after it), the
others are days away. The demo moves every date a sample carries (mail
``Date`` headers, dates and deadlines in the bodies, the Health event's times) by the time between
that moment and the run's clock, keeping the spacing between them. Dates without a time of day move
by whole days, the nearest to that difference.

The samples are not DKIM-signed (they triage as ``unverified``): changing their bodies breaks no
signature. Only ASCII dates are rewritten, so ISO-2022-JP text around them keeps its bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

SAMPLES_TOLD_AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
"""When the samples' story happens as written: a reply due in hours, the forwarded report overdue."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# "Sat, 28 Nov 2026 22:40:12 +0000", "27 Nov 2026 21:14:03 GMT" (RFC 5322 and AWS's abuse reports)
_RFC5322 = re.compile(
    rb"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (" + "|".join(_MONTHS).encode() + rb") (\d{4}) "
    rb"(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4}|GMT|UTC)"
)
# "2026-11-28T22:38:05Z", "2026-11-27 21:14:03" (ISO 8601, log lines)
_ISO_TIME = re.compile(rb"\b(\d{4})-(\d{2})-(\d{2})([T ])(\d{2}):(\d{2}):(\d{2})(Z?)")
# "2026-12-03" on its own (not part of a longer number such as INV-2026-11-8841)
_ISO_DATE = re.compile(rb"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d:T-]| \d{2}:)")
# "December 10, 2026"
_LONG_DATE = re.compile(rb"\b(" + "|".join(_MONTH_NAMES).encode() + rb") (\d{1,2}), (\d{4})\b")


def shift_sample(raw: bytes, by: timedelta) -> bytes:
    """``raw`` with every date in it moved by ``by`` (dates alone by the nearest whole day)."""
    days = timedelta(days=round(by / timedelta(days=1)))
    raw = _RFC5322.sub(_replace_rfc5322(by), raw)
    raw = _ISO_TIME.sub(_replace_iso_time(by), raw)
    raw = _ISO_DATE.sub(_replace_iso_date(days), raw)
    return _LONG_DATE.sub(_replace_long_date(days), raw)


def shift_for(now: datetime) -> timedelta:
    """How far the samples move for a demo run at ``now``."""
    return now - SAMPLES_TOLD_AT


Replacer = Callable[[re.Match[bytes]], bytes]


def _replace_rfc5322(by: timedelta) -> Replacer:
    def replace(match: re.Match[bytes]) -> bytes:
        day, month, year, hour, minute, second, zone = (part.decode() for part in match.groups())
        offset = _offset(zone)
        local = datetime(
            int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second), tzinfo=offset
        )
        moved = (local + by).astimezone(offset)
        weekday = f"{_DAYS[moved.weekday()]}, " if match.group(0)[:1].isalpha() else ""
        text = f"{weekday}{moved.day} {_MONTHS[moved.month - 1]} {moved.year} {moved:%H:%M:%S} {zone}"
        return text.encode()

    return replace


def _replace_iso_time(by: timedelta) -> Replacer:
    def replace(match: re.Match[bytes]) -> bytes:
        year, month, day, separator, hour, minute, second, zulu = (part.decode() for part in match.groups())
        moved = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second)) + by
        return f"{moved:%Y-%m-%d}{separator}{moved:%H:%M:%S}{zulu}".encode()

    return replace


def _replace_iso_date(days: timedelta) -> Replacer:
    def replace(match: re.Match[bytes]) -> bytes:
        year, month, day = (int(part) for part in match.groups())
        return (date(year, month, day) + days).isoformat().encode()

    return replace


def _replace_long_date(days: timedelta) -> Replacer:
    def replace(match: re.Match[bytes]) -> bytes:
        month, day, year = (part.decode() for part in match.groups())
        moved = date(int(year), _MONTH_NAMES.index(month) + 1, int(day)) + days
        return f"{_MONTH_NAMES[moved.month - 1]} {moved.day}, {moved.year}".encode()

    return replace


def _offset(zone: str) -> timezone:
    if zone in ("GMT", "UTC"):
        return UTC
    sign = -1 if zone.startswith("-") else 1
    return timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
