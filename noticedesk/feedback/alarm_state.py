"""Raising and clearing the rate alarms in the store: the explicit step after reading the rates.

``check_alarms`` (or ``check_alarms_in`` inside a caller's transaction) evaluates the rates over
the window and records each change in ``ses_alarms``, a log of transitions per metric and scope:

- a critical alarm not raised yet today is **raised**: a row, and an early-warning case filed as
  notices are (cases/batch.py ``file_warnings``: opened with its checklist, or a note on the case
  it belongs to). While it lasts it is raised again once a day (``again``: a daily note).
- a raised alarm whose rate is back under its threshold (or no longer judged: fewer sends than
  ``min_sends`` in the window) is **cleared**: a row, and a note on its case.

Each transition goes through ``_transition``, the one place that also queues its notification.
A repeat of the same check (or two checkers at once) records nothing twice: every row has a key
that the second writer finds taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select

from noticedesk.cases.batch import EarlyWarning, file_warnings
from noticedesk.cases.timeline import record
from noticedesk.config import SesConfig
from noticedesk.feedback.alarms import Alarm, Thresholds, evaluate, scope_place, warning_notice
from noticedesk.feedback.ingest import insert_for
from noticedesk.feedback.rates import SCOPES, local_rates
from noticedesk.notify.emitters import ses_alarm
from noticedesk.notify.outbox import enqueue
from noticedesk.store.db import begin_writing
from noticedesk.store.tables import ses_alarms


@dataclass(frozen=True)
class AlarmChange:
    """One transition recorded: a critical alarm raised (``again``: on a later day while it lasts)
    or cleared, with the row's key and the case it is noted on."""

    change: Literal["raised", "cleared"]
    metric: str
    scope: str
    scope_key: str
    account_id: str
    value: float
    threshold: float
    alarm_key: str
    case_id: int | None
    again: bool = False
    at: datetime | None = None
    """When it was recorded (``raised_alarms``: the last raise)."""

    @property
    def sentence(self) -> str:
        place = scope_place(self.scope, self.scope_key)
        if self.change == "raised":
            return f"{self.metric} rate {self.value:.2%} ≥ {self.threshold:.2%} (critical) for {place}"
        if self.value >= self.threshold:  # fewer sends in the window than an alarm needs
            return f"{self.metric} rate for {place} no longer judged: too few sends in the window"
        return f"{self.metric} rate for {place} back under {self.threshold:.2%} (now {self.value:.2%})"

    def to_json(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "metric": self.metric,
            "scope": self.scope,
            "key": self.scope_key,
            "account_id": self.account_id,
            "value": self.value,
            "threshold": self.threshold,
            "alarm_key": self.alarm_key,
            "case_id": self.case_id,
            "again": self.again,
            "at": self.at.isoformat() if self.at else None,
        }


@dataclass
class AlarmCheck:
    """What one check found (every alarm, warn and critical) and what it recorded."""

    alarms: list[Alarm] = field(default_factory=list)
    raised: list[AlarmChange] = field(default_factory=list)
    cleared: list[AlarmChange] = field(default_factory=list)

    @property
    def case_ids(self) -> list[int]:
        """The cases the raised alarms opened or noted, once each, in order."""
        return list(dict.fromkeys(change.case_id for change in self.raised if change.case_id is not None))


def check_alarms(engine: Engine, config: SesConfig, *, now: datetime) -> AlarmCheck:
    """Raise and clear the alarms of the rates at ``now``, in a transaction of its own."""
    with engine.begin() as connection:
        begin_writing(connection)
        return check_alarms_in(connection, config, now=now)


def check_alarms_in(connection: Connection, config: SesConfig, *, now: datetime) -> AlarmCheck:
    """``check_alarms`` in the caller's transaction (begun with ``store.db.begin_writing``)."""
    rates = local_rates(connection, now, timedelta(days=config.rate_window_days))
    check = AlarmCheck(alarms=evaluate(rates, Thresholds.from_config(config)))
    latest = _latest_rows(connection)
    critical = {
        (item.metric, item.scope, item.key): item for item in check.alarms if item.level == "critical"
    }
    raised: list[tuple[AlarmChange, int, Alarm]] = []
    for where, alarm in critical.items():
        last = latest.get(where)
        still = last is not None and last.level == "critical"
        # Once a day while it lasts; raised again the day it was cleared, once after each clearing.
        after = "" if last is None or still else f"|after-{last.id}"
        key = f"{alarm.metric}|{alarm.scope}|{alarm.key}|critical|{now.date().isoformat()}{after}"
        change = AlarmChange(
            "raised", *where, alarm.account_id, alarm.value, alarm.threshold, key, None, still, now
        )
        row_id = _insert(connection, change, now)
        if row_id is not None:
            raised.append((change, row_id, alarm))
    warnings = [
        EarlyWarning(warning_notice(alarm), f"early warning: {alarm.sentence}", alarm.to_json())
        for _change, _row_id, alarm in raised
    ]
    for (change, row_id, _alarm), case_id in zip(
        raised, file_warnings(connection, warnings, now), strict=True
    ):
        connection.execute(ses_alarms.update().where(ses_alarms.c.id == row_id).values(case_id=case_id))
        check.raised.append(_transition(connection, replace(change, case_id=case_id), now))
    values = {
        (rate.scope, rate.key): {"bounce": rate.bounce_rate, "complaint": rate.complaint_rate}
        for rate in rates
    }
    for where, last in latest.items():
        if last.level != "critical" or where in critical:
            continue
        metric, scope, scope_key = where
        value = values.get((scope, scope_key), {}).get(metric) or 0.0
        key = f"{metric}|{scope}|{scope_key}|cleared|after-{last.id}"
        change = AlarmChange(
            "cleared", *where, _account(scope_key), value, last.threshold, key, last.case_id, at=now
        )
        if _insert(connection, change, now) is not None:
            check.cleared.append(_transition(connection, change, now))
    return check


def _transition(connection: Connection, change: AlarmChange, now: datetime) -> AlarmChange:
    """The one place an alarm is raised or cleared: its case's timeline hears of a clearing here
    (a raise was noted by filing), and the notification is queued here, in this transaction."""
    if change.change == "cleared" and change.case_id is not None:
        summary = f"early warning cleared: {change.sentence}"
        record(connection, change.case_id, now, "note", summary, change.to_json())
    told = ses_alarm(
        change.change,
        change.alarm_key,
        change.account_id or None,
        change.case_id,
        metric=change.metric,
        scope=scope_place(change.scope, change.scope_key),
        value=change.value,
        threshold=change.threshold,
    )
    enqueue(connection, told, now=now)
    return change


def raised_alarms(connection: Connection) -> list[AlarmChange]:
    """The alarms raised now (not cleared since), as their last raise recorded them. Read only."""
    raised = [
        AlarmChange(
            "raised",
            row.metric,
            row.scope,
            row.scope_key,
            _account(row.scope_key),
            row.value,
            row.threshold,
            row.alarm_key,
            row.case_id,
            at=row.raised_at,
        )
        for row in _latest_rows(connection).values()
        if row.level == "critical"
    ]
    return sorted(raised, key=lambda change: (change.metric, SCOPES.index(change.scope), change.scope_key))


def _account(scope_key: str) -> str:
    account = scope_key.split("/", 1)[0]
    return "" if account == "-" else account


def _latest_rows(connection: Connection) -> dict[tuple[str, str, str], Any]:
    """The last row of each metric and scope: ``critical`` while an alarm is raised."""
    newest = select(func.max(ses_alarms.c.id)).group_by(
        ses_alarms.c.metric, ses_alarms.c.scope, ses_alarms.c.scope_key
    )
    rows = connection.execute(select(ses_alarms).where(ses_alarms.c.id.in_(newest)))
    return {(row.metric, row.scope, row.scope_key): row for row in rows}


def _insert(connection: Connection, change: AlarmChange, now: datetime) -> int | None:
    """The row of a transition; None when its key is taken (recorded already)."""
    statement = (
        insert_for(connection, ses_alarms)
        .values(
            alarm_key=change.alarm_key,
            raised_at=now,
            level="critical" if change.change == "raised" else "cleared",
            metric=change.metric,
            scope=change.scope,
            scope_key=change.scope_key,
            value=change.value,
            threshold=change.threshold,
            case_id=change.case_id,
        )
        .on_conflict_do_nothing(index_elements=["alarm_key"])
        .returning(ses_alarms.c.id)
    )
    row_id: int | None = connection.execute(statement).scalar()
    return row_id
