"""The outbox as the watcher uses it: deadline alerts queued in the clocks' transaction, then sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from noticedesk.clock import Clock
from noticedesk.config import NotifyConfig
from noticedesk.notify.channels.base import Channel
from noticedesk.notify.channels.build import build_channels
from noticedesk.notify.events import Event
from noticedesk.notify.outbox import backoff_of, deliver_due, enqueue
from noticedesk.watch.deadlines import DeadlineAlert

_ROUNDS = 20
"""Batches sent per pass at most (50 rows each): a backlog does not hold the mailbox up for long."""
_BATCH = 50


class OutboxNotifier:
    def __init__(
        self, engine: Engine, config: NotifyConfig, clock: Clock, channels: dict[str, Channel] | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.channels = build_channels(config, clock=clock) if channels is None else channels
        self.backoff = backoff_of(config)
        self.language = config.language

    def enqueue_alert(self, connection: Connection, alert: DeadlineAlert, now: datetime) -> int:
        event = Event(
            kind=alert.kind,
            case_id=str(alert.case.id),
            account_id=alert.case.account_id,
            dedupe_key=alert.dedupe_key,
            facts=alert.facts(),
        )
        return enqueue(connection, event, now=now)

    def deliver(self, now: datetime) -> tuple[int, int]:
        sent = failed = 0
        for _ in range(_ROUNDS):
            report = deliver_due(
                self.engine,
                now=now,
                channels=self.channels,
                backoff=self.backoff,
                limit=_BATCH,
                language=self.language,
                clock=self.clock,
            )
            sent += len(report.sent)
            failed += len(report.failed) + len(report.retrying)
            if report.attempted < _BATCH:
                break
        return sent, failed
