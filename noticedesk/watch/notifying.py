"""The outbox as the watcher uses it: deadline alerts queued in the clocks' transaction, then sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine

from noticedesk.clock import Clock
from noticedesk.config import NotifyConfig
from noticedesk.notify.channels.base import Channel
from noticedesk.notify.events import Event
from noticedesk.notify.outbox import enqueue
from noticedesk.notify.sending import Sender
from noticedesk.watch.deadlines import DeadlineAlert

_ROUNDS = 10
"""Batches sent per pass at most: a backlog of notifications does not hold the mailbox up."""
_BATCH = 10
"""Rows claimed and sent at once: a stop waits for at most these sends."""


class OutboxNotifier:
    def __init__(
        self, engine: Engine, config: NotifyConfig, clock: Clock, channels: dict[str, Channel] | None = None
    ) -> None:
        self.sender = Sender(engine, config, clock=clock, channels=channels)

    def enqueue_alert(self, connection: Connection, alert: DeadlineAlert, now: datetime) -> int:
        event = Event(
            kind=alert.kind,
            case_id=str(alert.case.id),
            account_id=alert.case.account_id,
            dedupe_key=alert.dedupe_key,
            facts=alert.facts(),
        )
        return enqueue(connection, event, now=now)

    def close(self) -> None:
        self.sender.close()

    def deliver(self, now: datetime, stopping: Callable[[], bool] = lambda: False) -> tuple[int, int]:
        report = self.sender.send_due(now, limit=_BATCH, rounds=_ROUNDS, should_stop=stopping)
        return len(report.sent), len(report.failed) + len(report.retrying)
