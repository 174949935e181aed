"""One pass of sending, as the configuration says: its channels, its backoff, its language."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from noticedesk.clock import Clock
from noticedesk.config import NotifyConfig
from noticedesk.notify.channels.base import Channel, Closable
from noticedesk.notify.channels.build import build_channels
from noticedesk.notify.outbox import DeliveryReport, backoff_of, deliver_due


class Sender:
    """Built once (the channels' secrets read once, a ConfigError if one is missing), then
    ``send_due(now)`` on every pass of the watcher; ``close()`` (or ``with``) at the end lets go
    of the channels' HTTP connections, which are kept open between sends."""

    def __init__(
        self,
        engine: Engine,
        config: NotifyConfig,
        *,
        clock: Clock | None = None,
        channels: dict[str, Channel] | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.channels = channels if channels is not None else build_channels(config, clock=clock)

    def send_due(
        self,
        now: datetime,
        *,
        limit: int = 50,
        rounds: int | None = 20,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> DeliveryReport:
        """Claimed batches of ``limit`` until nothing due is left, ``rounds`` batches at most (a
        backlog does not hold the caller's other work up for long; ``None``: no limit), none
        begun once ``should_stop()`` (a stop waits for one batch at most). A later batch is
        claimed at the clock's time, when the Sender has a clock."""
        total = DeliveryReport()
        for round_ in itertools.count() if rounds is None else range(rounds):
            if should_stop():
                break
            if round_ and self.clock is not None:
                now = self.clock()
            report = deliver_due(
                self.engine,
                now=now,
                channels=self.channels,
                backoff=backoff_of(self.config),
                limit=limit,
                language=self.config.language,
                clock=self.clock,
            )
            total.sent += report.sent
            total.retrying += report.retrying
            total.failed += report.failed
            if report.attempted < limit:
                break
        return total

    def close(self) -> None:
        for channel in {id(channel): channel for channel in self.channels.values()}.values():
            if isinstance(channel, Closable):
                channel.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
