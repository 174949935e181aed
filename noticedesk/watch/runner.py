"""The watcher's loop: drain every source into the store, run the clocks, send the outbox, wait.

One pass (``run_once``) takes each source's waiting inputs a batch at a time, files each batch
with triage's own path (one transaction), and only then tells the source they were filed; every
``clock_seconds`` it raises the deadline alerts and checks the SES alarms; then it sends what the
outbox holds. ``run`` repeats passes until SIGTERM or SIGINT: the batch in hand is finished and
committed, a wait is cut short, and the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from noticedesk.config import WatchConfig
from noticedesk.errors import StoreError, WatchError
from noticedesk.mail.readers import RawItem
from noticedesk.queues.consumer import QueueConsumer
from noticedesk.triage.result import TriageResult
from noticedesk.watch.deadlines import DeadlineAlert, raise_deadline_alerts
from noticedesk.watch.sources import Source

log = logging.getLogger("noticedesk.watch")
Clock = Callable[[], datetime]
FileBatch = Callable[[list[RawItem]], Iterable[TriageResult]]


class Waiter(Protocol):
    @property
    def can_idle(self) -> bool:
        """Whether ``wait`` can wait for news now (IMAP IDLE offered, connected)."""
        ...

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for news; True if some came."""
        ...


class Notifier(Protocol):
    """The outbox, as the watcher uses it (``noticedesk.notify``)."""

    def enqueue_alert(self, connection: Connection, alert: DeadlineAlert, now: datetime) -> int:
        """Queue the alert in this transaction; how many rows were new (0: sent before)."""
        ...

    def deliver(self, now: datetime, stopping: Callable[[], bool]) -> tuple[int, int]:
        """Send what is due, a few at a time until ``stopping()``; (sent, failed)."""
        ...

    def close(self) -> None:
        """Let go of the channels' connections (kept open between passes)."""
        ...


class StopWaiting(Exception):
    """Raised by the signal handler inside a wait only: the wait ends at once."""


class Stop:
    """SIGTERM / SIGINT ask the watcher to stop after the batch in hand."""

    def __init__(self) -> None:
        self.requested = False
        self._waiting = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if not self.requested:
            log.info("stopping", extra={"event": "stopping", "signal": signal.Signals(signum).name})
        self.requested = True
        if self._waiting:
            raise StopWaiting

    @contextmanager
    def waiting(self) -> Iterator[None]:
        self._waiting = True
        try:
            if self.requested:
                raise StopWaiting
            yield
        finally:
            self._waiting = False


@dataclass
class Report:
    filed: int = 0
    duplicates: int = 0
    unreadable: int = 0
    alerts: int = 0
    sent: int = 0
    failed: int = 0
    source_errors: int = 0


@dataclass
class Watcher:
    engine: Engine
    settings: WatchConfig
    clock: Clock
    sources: list[Source]
    file: FileBatch
    """Triage's filing path (``Triage(...).run``): one batch, one transaction."""
    queues: list[QueueConsumer] = field(default_factory=list)
    """SQS queues (AWS Health events), consumed as the worker consumes them."""
    notifier: Notifier | None = None
    warnings_hours: Sequence[float] = (12.0, 2.0)
    """``[notify] deadline_warnings_hours``."""
    check_alarms: Callable[[datetime], list[int]] | None = None
    """The SES alarm check; returns the early-warning cases it opened or noted."""
    waiter: Waiter | None = None
    posture: Callable[[datetime], object] | None = None
    """The posture scan (``watch/posture.py``): run in a thread of its own by ``run``, in line by
    ``run_once`` alone (``--once``), so a long scan never holds the mailbox up."""
    posture_in_background: bool = False
    _posture_thread: threading.Thread | None = None
    warm_up: Callable[[], object] | None = None
    """Builds what reading the first notice would (rule table, scanner databases): run at start,
    so the first mail is not the one that waits for it."""
    stop: Stop = field(default_factory=Stop)
    _next_tick: datetime | None = None

    # -- one pass --------------------------------------------------------------------------------

    def run_once(self) -> Report:
        report = Report()
        for source in self.sources:
            if self.stop.requested:
                break
            self._drain(source, report)
        for queue in self.queues:
            self._consume(queue, report)
        now = self.clock()
        if self._next_tick is None or now >= self._next_tick:
            self._tick(now, report)
            self._next_tick = now + timedelta(seconds=self.settings.clock_seconds)
        elif report.filed:  # a notice that arrives with its deadline already near warns at once
            self._deadlines(now, report)
        if self.notifier is not None:
            sent, failed = self.notifier.deliver(self.clock(), lambda: self.stop.requested)
            report.sent += sent
            report.failed += failed
        return report

    def _drain(self, source: Source, report: Report) -> None:
        while not self.stop.requested:
            try:
                arrivals = source.take(self.settings.batch_size)
            except WatchError as error:
                report.source_errors += 1
                log.warning("source unavailable", extra={"event": "source.error", "reason": str(error)})
                return
            if not arrivals:
                return
            for result in self.file([arrival.item for arrival in arrivals]):
                _count(result, report)
                _log_result(source.name, result)
            try:
                source.filed(arrivals)
            except WatchError as error:
                report.source_errors += 1
                log.warning("source not marked", extra={"event": "source.error", "reason": str(error)})
                return

    def _consume(self, queue: QueueConsumer, report: Report) -> None:
        while not self.stop.requested:
            try:
                polled = queue.poll_once()
            except (BotoCoreError, ClientError) as error:
                report.source_errors += 1
                log.warning(
                    "source unavailable",
                    extra={"event": "source.error", "reason": f"sqs:{queue.name}: {_one_line(error)}"},
                )
                return
            if not polled.received or polled.received == polled.left:
                return  # empty, or only what could not be handled now (tried next pass)
            report.filed += polled.stored
            report.duplicates += polled.kinds.get("duplicate", 0)
            report.unreadable += polled.dead
            log.info(
                "queue polled",
                extra={
                    "event": "queue.filed",
                    "source": f"sqs:{queue.name}",
                    "received": polled.received,
                    "filed": polled.done,
                    "dead_lettered": polled.dead,
                    "kinds": dict(polled.kinds),
                },
            )

    def _tick(self, now: datetime, report: Report) -> None:
        """Every ``clock_seconds``: the deadlines, the SES alarms, the posture scan when one is due."""
        self._deadlines(now, report)
        if self.check_alarms is not None:
            for case_id in self.check_alarms(now):
                log.info("ses alarm", extra={"event": "ses.alarm", "case_id": case_id})
        if self.posture is not None:
            self._scan(now)

    def _deadlines(self, now: datetime, report: Report) -> None:
        if self.notifier is not None:
            missed_within = timedelta(hours=self.settings.missed_within_hours)
            enqueue = self.notifier.enqueue_alert
            for alert in raise_deadline_alerts(self.engine, enqueue, now, self.warnings_hours, missed_within):
                report.alerts += 1
                log.info(alert.kind, extra=alert.to_log())

    def _scan(self, now: datetime) -> None:
        assert self.posture is not None
        if not self.posture_in_background:
            self.posture(now)
            return
        if self._posture_thread is not None and self._posture_thread.is_alive():
            return  # the last scan is still reading
        scan = self.posture

        def guarded() -> None:
            try:
                scan(now)
            except Exception:  # a scan that fails is logged; the next tick tries again
                log.exception("posture scan failed", extra={"event": "posture.error"})

        self._posture_thread = threading.Thread(target=guarded, name="posture-scan", daemon=True)
        self._posture_thread.start()

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        """Passes until asked to stop; a store or source outage is logged and tried again."""
        self.stop.install()
        self.posture_in_background = True
        if self.warm_up is not None:
            began = time.monotonic()
            self.warm_up()
            log.info("ready", extra={"event": "ready", "warm_up_seconds": round(time.monotonic() - began, 3)})
        names = [source.name for source in self.sources] + [f"sqs:{queue.name}" for queue in self.queues]
        log.info("watching", extra={"event": "started", "sources": names})
        try:
            while not self.stop.requested:
                try:
                    report = self.run_once()
                    if report.filed or report.alerts or report.sent or report.failed:
                        log.debug("pass", extra={"event": "pass", **report.__dict__})
                except (SQLAlchemyError, StoreError) as error:
                    log.error("store unavailable", extra={"event": "store.error", "reason": _one_line(error)})
                if not self.stop.requested:
                    self._wait()
        finally:
            self.close()
            log.info("stopped", extra={"event": "stopped"})

    def close(self) -> None:
        """Log out of the mailbox and close the channels' connections; leave the rest as it is (an
        SQS batch is deleted or left whole)."""
        for source in self.sources:
            source.close()
        if self.notifier is not None:
            self.notifier.close()

    def _wait(self) -> None:
        seconds = self.settings.poll_seconds
        if self._next_tick is not None:
            seconds = max(0.0, min(seconds, (self._next_tick - self.clock()).total_seconds()))
        try:
            with self.stop.waiting():
                if self.waiter is not None and self.waiter.can_idle:
                    try:
                        self.waiter.wait(seconds)
                        return
                    except WatchError as error:
                        log.warning("wait failed", extra={"event": "source.error", "reason": str(error)})
                time.sleep(seconds)
        except StopWaiting:
            return


def _count(result: TriageResult, report: Report) -> None:
    if result.skipped:
        return
    if result.error:
        report.unreadable += 1
    elif result.duplicate:
        report.duplicates += 1
    else:
        report.filed += 1


def _log_result(source: str, result: TriageResult) -> None:
    notice = result.notice
    fields: dict[str, object] = {
        "event": "input.skipped" if result.skipped else "input.unreadable" if result.error else "input.filed",
        "source": source,
        "index": result.index,
        "case_id": result.case_id,
        "duplicate": result.duplicate,
    }
    if notice is not None:
        fields.update(
            kind=notice.kind.value,
            stage=notice.stage.value,
            authenticity=notice.authenticity.value,
            account_id=notice.facts.account_id,
        )
    if result.error or result.skipped:
        fields["reason"] = result.error or (result.warnings[0] if result.warnings else "")
        log.warning("input not filed", extra=fields)
    else:
        log.info("input filed", extra=fields)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300]
