"""Group commit for the webhook: concurrent requests share one transaction, each waits for it.

A request is answered 200 only after the transaction holding its message has committed, so an
acknowledged message is never lost; a failed commit fails every request of the batch (SNS
retries them). One writer thread per process also means one SQLite writer per process.

A batch is committed as soon as the writer is free: the first document waits for nothing, and
whatever arrives while a commit is in flight goes into the next one (all of it, up to
``max_batch``). So a lone request costs one commit's latency, and under load the batches grow by
themselves to what arrived during a commit: 16 connections, each waiting for its answer, fill a
batch of up to 16 while the previous one commits. The earlier fixed wait (``commit_delay``, 10 ms
after a batch's first document) saved CPU at a few hundred requests a second but capped
throughput at connections ÷ (wait + commit): about 1,200 req/s with 16 connections
(bench/ses_webhook.py measures it beside a reference app).

Waiters are either threads (``submit``) or coroutines (``store``). A coroutine's future is
settled from the event loop with one ``call_soon_threadsafe`` per batch rather than one
``concurrent.futures.Future`` (a lock and a condition variable each) plus one loop wake-up per
request: at a thousand requests a second that bookkeeping cost as much as parsing them.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from noticedesk.feedback.events import FeedbackDocument
from noticedesk.feedback.ingest import ingest
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.store.refusals import REFUSED, driver_message, each_alone_if_refused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    duplicate: bool
    new_events: int


Waiter = Future[Stored] | tuple[asyncio.AbstractEventLoop, asyncio.Future[Stored]]
Outcome = Stored | BaseException


@dataclass
class BatchWriter:
    engine: Engine
    settings: PolicySettings
    clock: Callable[[], datetime]
    max_batch: int = 500
    _queue: queue.SimpleQueue[tuple[FeedbackDocument, str, Waiter]] = field(default_factory=queue.SimpleQueue)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, document: FeedbackDocument, source: str) -> Stored:
        """Store one document with whatever else is waiting; return once it is committed."""
        future: Future[Stored] = Future()
        self._put(document, source, future)
        return future.result()

    async def store(self, document: FeedbackDocument, source: str) -> Stored:
        """The same for a coroutine: the event loop is free while the batch commits."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Stored] = loop.create_future()
        self._put(document, source, (loop, future))
        return await future

    def _put(self, document: FeedbackDocument, source: str, waiter: Waiter) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="feedback-writer", daemon=True)
                    self._thread.start()
        self._queue.put((document, source, waiter))

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]  # idle until a document comes, then no wait at all
            while len(batch) < self.max_batch:
                try:  # what arrived during the previous commit
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._settle(batch, self._write(batch))

    def _write(self, batch: list[tuple[FeedbackDocument, str, Waiter]]) -> list[Outcome]:
        # A value the store refuses: one document must not fail the others.
        return each_alone_if_refused(self._write_together, batch, self._refused)

    def _write_together(self, batch: list[tuple[FeedbackDocument, str, Waiter]]) -> list[Outcome]:
        try:
            with self.engine.begin() as connection:
                result = ingest(
                    connection,
                    [(document, source) for document, source, _ in batch],
                    self.settings,
                    self.clock(),
                )
        except REFUSED:
            raise
        except Exception as error:  # every waiting request learns it failed (500, SNS retries)
            log.exception("feedback batch of %d not stored", len(batch))
            return [error] * len(batch)
        outcomes: list[Outcome] = []
        for document, _, _ in batch:
            duplicate = document.sns_message_id not in result.fresh_message_ids
            outcomes.append(Stored(duplicate, len(document.events) if not duplicate else 0))
        return outcomes

    @staticmethod
    def _refused(_item: tuple[FeedbackDocument, str, Waiter], failure: Exception) -> list[Outcome]:
        log.warning("feedback document refused by the store", extra={"reason": driver_message(failure)})
        return [failure]

    @staticmethod
    def _settle(batch: list[tuple[FeedbackDocument, str, Waiter]], outcomes: list[Outcome]) -> None:
        """Tell each waiter; only now, after the commit (or its failure), may a request be answered."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Stored], Outcome]]] = {}
        for (_, _, waiter), outcome in zip(batch, outcomes, strict=True):
            if isinstance(waiter, Future):
                if isinstance(outcome, BaseException):
                    waiter.set_exception(outcome)
                else:
                    waiter.set_result(outcome)
            else:
                loop, future = waiter
                by_loop.setdefault(loop, []).append((future, outcome))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_in_loop, settled)
            except RuntimeError:  # the loop has closed (server stopping): nobody is waiting any more
                log.warning("feedback batch of %d committed after its event loop closed", len(settled))


def _settle_in_loop(settled: list[tuple[asyncio.Future[Stored], Outcome]]) -> None:
    for future, outcome in settled:
        if future.cancelled():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
