"""The worker process: a thread per queue, claimed jobs on the main thread, a clean stop on SIGTERM.

Each queue thread polls its ``QueueConsumer`` until told to stop; a batch in hand when the signal
comes is finished (committed, then deleted from SQS) and one received after it is released at
once. Jobs (sending the outbox, running clocks, scheduled scans) run every ``interval`` seconds
on the main thread; what they work on is claimed in the store (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), so every worker may run them.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType

from noticedesk.clock import Clock
from noticedesk.queues.consumer import QueueConsumer
from noticedesk.worker.metrics import WorkerMetrics

log = logging.getLogger(__name__)


@dataclass
class Job:
    """Claimed work run every ``interval_seconds`` (and once more before a draining worker exits)."""

    name: str
    interval_seconds: float
    run: Callable[[datetime], object]
    next_at: float = 0.0
    close: Callable[[], None] | None = None
    """Let go of what ``run`` keeps open between runs (the outbox's HTTP connections); at exit."""


@dataclass
class Worker:
    consumers: Sequence[QueueConsumer]
    metrics: WorkerMetrics
    clock: Clock
    jobs: Sequence[Job] = ()
    drain: bool = False
    """Exit once every queue is empty, messages in flight included (batch runs, tests, benchmarks)."""
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        for consumer in self.consumers:
            consumer.stopping = self.stopping

    def run(self) -> None:
        """Until SIGTERM / SIGINT (or, draining, until the queues are empty)."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        threads = [
            threading.Thread(target=self._consume, args=(consumer,), name=f"queue-{consumer.name}")
            for consumer in self.consumers
        ]
        try:
            for thread in threads:
                thread.start()
            while not self.stopping.is_set():
                self._run_due_jobs()
                if (threads and not any(thread.is_alive() for thread in threads)) or (
                    not threads and self.drain
                ):
                    break
                self.stopping.wait(0.5)
            for thread in threads:
                thread.join()
            if self.drain and threads and not self.stopping.is_set():
                self._run_due_jobs(everything=True)  # what the last batches queued (the outbox)
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for job in self.jobs:
                if job.close is not None:
                    job.close()
        log.info("worker stopped")

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("worker stopping signal=%s: finishing the batches in hand", signal.Signals(signum).name)
        self.stopping.set()

    def _consume(self, consumer: QueueConsumer) -> None:
        while not self.stopping.is_set():
            try:
                report = consumer.poll_once()
            except Exception:
                log.exception("poll failed, its batch is left for another try queue=%s", consumer.name)
                self.metrics.errors.labels(f"queue:{consumer.name}").inc()
                self.stopping.wait(1.0)
                continue
            self.metrics.observe(consumer.name, report)
            if self.drain and report.received == 0 and _drained(consumer):
                return

    def _run_due_jobs(self, everything: bool = False) -> None:
        for job in self.jobs:
            if self.stopping.is_set():
                return
            if not everything and time.monotonic() < job.next_at:
                continue
            job.next_at = time.monotonic() + job.interval_seconds
            try:
                job.run(self.clock())
            except Exception:
                log.exception("job failed job=%s", job.name)
                self.metrics.errors.labels(f"job:{job.name}").inc()


def _drained(consumer: QueueConsumer) -> bool:
    try:
        return consumer.in_flight() == 0
    except Exception:
        log.exception("queue depth not read queue=%s", consumer.name)
        return False
