"""Group commit for the webhook: concurrent requests share one transaction, each waits for it.

A request is answered 200 only after the transaction holding its message has committed, so an
acknowledged message is never lost; a failed commit fails every request of the batch (SNS
retries them). One writer thread per process also means one SQLite writer per process.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from noticedesk.feedback.events import FeedbackDocument
from noticedesk.feedback.policy import PolicySettings
from noticedesk.feedback.store import ingest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    duplicate: bool
    new_events: int


@dataclass
class BatchWriter:
    engine: Engine
    settings: PolicySettings
    clock: Callable[[], datetime]
    max_batch: int = 500
    _queue: queue.Queue[tuple[FeedbackDocument, str, Future[Stored]]] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, document: FeedbackDocument, source: str) -> Stored:
        """Store one document with whatever else is waiting; return once it is committed."""
        return self.enqueue(document, source).result()

    def enqueue(self, document: FeedbackDocument, source: str) -> Future[Stored]:
        """The same without waiting: the future resolves once the document is committed."""
        self._ensure_started()
        future: Future[Stored] = Future()
        self._queue.put((document, source, future))
        return future

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="feedback-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[tuple[FeedbackDocument, str, Future[Stored]]]) -> None:
        try:
            with self.engine.begin() as connection:
                result = ingest(
                    connection,
                    [(document, source) for document, source, _ in batch],
                    self.settings,
                    self.clock(),
                )
        except Exception as error:  # every waiting request learns it failed (500, SNS retries)
            log.exception("feedback batch of %d not stored", len(batch))
            for _, _, future in batch:
                future.set_exception(error)
            return
        for document, _, future in batch:
            duplicate = document.sns_message_id not in result.fresh_message_ids
            future.set_result(Stored(duplicate, len(document.events) if not duplicate else 0))
