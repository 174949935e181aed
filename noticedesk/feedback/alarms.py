"""Alarms on our own rates, before AWS acts: warn, then critical (an early-warning case). Pure.

The defaults warn at 2.5 % bounces / 0.05 % complaints and page at 4 % / 0.08 %, below the levels
at which AWS may start a review (5 % / 0.1 % or more); each alarm says which AWS level it guards.
Raising and clearing them in the store: ``feedback/alarm_state.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from noticedesk.config import SesConfig
from noticedesk.feedback.rates import Rate
from noticedesk.notices.levels import SES_LEVELS, Metric
from noticedesk.notices.model import Authenticity, Facts, Kind, Notice, Stage

_DEFAULTS = SesConfig()  # one source for the default thresholds: the configuration's


@dataclass(frozen=True)
class Thresholds:
    """Our own alarms, below AWS's levels: warn well under the review level, page just before it."""

    warn_bounce: float = _DEFAULTS.warn_bounce_rate
    warn_complaint: float = _DEFAULTS.warn_complaint_rate
    critical_bounce: float = _DEFAULTS.critical_bounce_rate
    critical_complaint: float = _DEFAULTS.critical_complaint_rate
    min_sends: int = _DEFAULTS.min_sends

    @classmethod
    def from_config(cls, config: SesConfig) -> Thresholds:
        return cls(
            config.warn_bounce_rate,
            config.warn_complaint_rate,
            config.critical_bounce_rate,
            config.critical_complaint_rate,
            config.min_sends,
        )


@dataclass(frozen=True)
class Alarm:
    level: str  # warn | critical
    metric: str  # bounce | complaint
    scope: str
    key: str
    account_id: str
    value: float
    threshold: float

    @property
    def headline(self) -> str:
        return (
            f"{self.metric} rate {self.value:.2%} ≥ {self.threshold:.2%} ({self.level}) "
            f"for {scope_place(self.scope, self.key)}"
        )

    @property
    def sentence(self) -> str:
        metric: Metric = "bounce" if self.metric == "bounce" else "complaint"
        reached = SES_LEVELS[metric].reached_by(self.value)
        return f"{self.headline}; {self.guards}" + (f"; {reached}" if reached else "")

    @property
    def guards(self) -> str:
        """Which AWS level this alarm stands in front of (review at 5 % / 0.1 %, pause at 10 % / 0.5 %)."""
        metric: Metric = "bounce" if self.metric == "bounce" else "complaint"
        return SES_LEVELS[metric].guarded_by(self.threshold)

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "metric": self.metric,
            "scope": self.scope,
            "key": self.key,
            "account_id": self.account_id,
            "value": self.value,
            "threshold": self.threshold,
            "guards": self.guards,
        }


def scope_place(scope: str, key: str) -> str:
    """A rate's scope as a person reads it, not its key (``111122223333/-/mail.example.jp``)."""
    account, region, name = [*key.split("/", 2), "-", "-"][:3]
    account = f"account {account}" if account != "-" else "an unknown account"
    region = region if region != "-" else "region unknown"
    if scope == "account":
        return account
    if scope == "region":
        return f"{account} in {region}"
    label = "configuration set" if scope == "configuration-set" else scope
    return f"{label} {name} ({account}, {region})"


def evaluate(rates: Iterable[Rate], thresholds: Thresholds) -> list[Alarm]:
    alarms = []
    for rate in rates:
        if rate.denominator < thresholds.min_sends:
            continue
        for metric, value, warn, critical in (
            ("bounce", rate.bounce_rate, thresholds.warn_bounce, thresholds.critical_bounce),
            ("complaint", rate.complaint_rate, thresholds.warn_complaint, thresholds.critical_complaint),
        ):
            if value is None:
                continue
            if value >= critical:
                alarms.append(
                    Alarm("critical", metric, rate.scope, rate.key, rate.account_id, value, critical)
                )
            elif value >= warn:
                alarms.append(Alarm("warn", metric, rate.scope, rate.key, rate.account_id, value, warn))
    return alarms


def warning_notice(alarm: Alarm) -> Notice:
    """What a critical alarm stands for, as a notice: a case of kind ``ses-bounce`` /
    ``ses-complaint`` at stage ``early-warning``, ``unverified`` (no AWS notice proves it)."""
    kind = Kind.SES_BOUNCE if alarm.metric == "bounce" else Kind.SES_COMPLAINT
    region = alarm.key.split("/")[1] if alarm.key.count("/") >= 1 else None
    facts = Facts(
        account_id=alarm.account_id or None,
        regions=(region,) if region and region != "-" else (),
        bounce_rate=alarm.value if alarm.metric == "bounce" else None,
        complaint_rate=alarm.value if alarm.metric == "complaint" else None,
    )
    return Notice(
        kind,
        Stage.EARLY_WARNING,
        facts,
        rule_id=None,
        authenticity=Authenticity.UNVERIFIED,
        title=f"NoticeDesk early warning: {alarm.headline}",
    )
