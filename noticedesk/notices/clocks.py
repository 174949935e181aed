"""Deadlines: when AWS wants an answer, and when it will act. Pure; defaults are data."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from noticedesk.notices.model import Kind, Notice, Stage

if TYPE_CHECKING:
    from noticedesk.config import ClockDefaults


@dataclass(frozen=True)
class ClockRule:
    reply_by_hours: float | None
    enforcement_hours: float | None
    note_en: str
    note_ja: str
    reminder_reply_by_hours: float | None = None
    """After a reminder (AWS's second warning): hours from the reminder; None keeps the first rule."""
    reminder_enforcement_hours: float | None = None
    undated_en: str = ""
    """What to show instead of a date when there is none: AWS decides the window, we invent none."""
    undated_ja: str = ""


@dataclass(frozen=True, slots=True)  # slots: triage makes one per notice
class Clocks:
    reply_by: datetime | None
    enforcement_at: datetime | None
    note_en: str = ""
    note_ja: str = ""


@cache
def default_clock_rules() -> dict[str, ClockRule]:
    text = resources.files("noticedesk.notices").joinpath("data/clocks.toml").read_text("utf-8")
    return {
        kind: ClockRule(
            reply_by_hours=entry.get("reply_by_hours"),
            enforcement_hours=entry.get("enforcement_hours"),
            note_en=entry.get("note_en", ""),
            note_ja=entry.get("note_ja", ""),
            reminder_reply_by_hours=entry.get("reminder_reply_by_hours"),
            reminder_enforcement_hours=entry.get("reminder_enforcement_hours"),
            undated_en=entry.get("undated_en", ""),
            undated_ja=entry.get("undated_ja", ""),
        )
        for kind, entry in tomllib.loads(text).items()
    }


def clock_rule(kind: Kind, overrides: dict[str, ClockDefaults] | None = None) -> ClockRule | None:
    name = kind.value  # read once: an enum's ``.value`` is a Python-level property (3.11)
    rule = default_clock_rules().get(name)
    override = overrides.get(name) if overrides else None
    if override is None:
        return rule
    base = rule or ClockRule(None, None, "", "")
    return replace(
        base,
        reply_by_hours=override.reply_by_hours
        if override.reply_by_hours is not None
        else base.reply_by_hours,
        enforcement_hours=(
            override.enforcement_hours if override.enforcement_hours is not None else base.enforcement_hours
        ),
    )


def _after(start: datetime, hours: float | None) -> datetime | None:
    return None if hours is None else start + _hours(hours)


_ACTED = frozenset((Stage.FINAL, Stage.PAUSED, Stage.APPEAL_REFUSED, Stage.RESOLVED))
"""Stages at which AWS has already acted: enforcement is the notice's own time."""


@lru_cache(maxsize=64)
def _hours(hours: float) -> timedelta:
    """The few durations of the clock rules, built once each (triage asks per notice)."""
    return timedelta(hours=hours)


def clocks_for(
    notice: Notice,
    sent_at: datetime,
    within_hours: int | None = None,
    overrides: dict[str, ClockDefaults] | None = None,
) -> Clocks:
    """The clocks one notice sets. A date or "within N hours" stated in the notice wins.

    ``sent_at`` must be aware (any zone); every time returned is aware UTC.
    """
    if sent_at.tzinfo is None or sent_at.utcoffset() is None:
        raise ValueError("sent_at must be timezone-aware")
    if sent_at.tzinfo is not UTC:  # the usual case already is UTC: no new datetime for it
        sent_at = sent_at.astimezone(UTC)
    rule = clock_rule(notice.kind, overrides)
    if rule is None or not notice.kind.opens_case:
        return Clocks(None, None)
    stated = notice.facts.reply_by.astimezone(UTC) if notice.facts.reply_by else None
    reminder = notice.stage == Stage.REMINDER
    if stated is not None:
        reply_by: datetime | None = stated
    elif within_hours is not None:
        reply_by = sent_at + timedelta(hours=within_hours)
    elif reminder and rule.reminder_reply_by_hours is not None:
        reply_by = _after(sent_at, rule.reminder_reply_by_hours)
    else:
        reply_by = _after(sent_at, rule.reply_by_hours)
    if notice.stage in _ACTED:
        enforcement_at: datetime | None = sent_at  # AWS has already acted (or closed the case)
    elif reminder and rule.reminder_enforcement_hours is not None:
        # The reminder is the second warning: AWS may act from now on, not a full period later.
        enforcement_at = _after(sent_at, rule.reminder_enforcement_hours)
    elif stated is not None and notice.kind in _STATED_DATE_IS_ENFORCEMENT:
        enforcement_at = stated
    else:
        enforcement_at = _after(sent_at, rule.enforcement_hours)
    if notice.stage == Stage.RESOLVED:
        reply_by = None
    return Clocks(reply_by, enforcement_at, rule.note_en, rule.note_ja)


_STATED_DATE_IS_ENFORCEMENT = frozenset(
    {
        Kind.ACCOUNT_COMPROMISED,
        Kind.ACCOUNT_HOLD,
        Kind.SES_BOUNCE,
        Kind.SES_COMPLAINT,
        Kind.SES_REVIEW,
        Kind.SES_VULNERABLE_SITE,
    }
)
"""Kinds whose stated date ("contact AWS by", "the review ends on") is also when AWS may act."""
