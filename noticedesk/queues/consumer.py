"""One SQS queue consumed safely by any number of processes.

A poll receives a batch, hands it to a handler that commits its work to the store, then deletes
what was committed. A crash between receive and commit loses nothing: the messages reappear
after the visibility timeout, and the handlers' writes are idempotent, so a redelivery changes
nothing. While a batch is slow, a heartbeat extends its visibility. A message the handler calls
poison (unparseable), or received more than ``max_receives`` times, is dead-lettered: its body
and the reason are stored (``queues/deadletters.py``), then it moves to the dead-letter queue
when one is configured (else the queue's own redrive policy moves it on).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from noticedesk.clock import Clock, utc_now
from noticedesk.queues.deadletters import DeadLetter, record_dead_letters

log = logging.getLogger(__name__)
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected
_ATTEMPTS = 4


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    sent_at: datetime | None


@dataclass
class Outcome:
    """What a handler made of a batch: committed, poison (with why), or neither (left for retry)."""

    done: set[str] = field(default_factory=set)
    poison: dict[str, str] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    """What was processed, by kind (SES event type, notice kind): for the metrics."""
    stored: int = 0
    """New records written (a redelivery stores nothing)."""


Handler = Callable[[Sequence[QueueMessage]], Outcome]


@dataclass
class PollReport:
    received: int = 0
    done: int = 0
    dead: int = 0
    left: int = 0
    deleted: int = 0
    stored: int = 0
    released: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    lag_seconds: float | None = None
    """Age of the oldest message of the batch when received (how far behind the queue is)."""

    def add(self, other: PollReport) -> None:
        for name in ("received", "done", "dead", "left", "deleted", "stored", "released"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.kinds.update(other.kinds)


class Heartbeat:
    """Extends the visibility of in-flight messages every half timeout until stopped."""

    def __init__(self, client: Any, queue_url: str, handles: list[str], timeout: int) -> None:
        self.client, self.queue_url, self.handles, self.timeout = client, queue_url, handles, timeout
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="sqs-heartbeat")

    def _run(self) -> None:
        while not self.stopped.wait(self.timeout / 2):
            change_visibility(self.client, self.queue_url, self.handles, self.timeout)
            log.info("sqs visibility extended messages=%d", len(self.handles))

    def __enter__(self) -> Heartbeat:
        if self.handles:
            self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()


def change_visibility(client: Any, queue_url: str, handles: Sequence[str], timeout: int) -> None:
    for start in range(0, len(handles), 10):
        entries = [
            {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": timeout}
            for index, handle in enumerate(handles[start : start + 10])
        ]
        client.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def delete_messages(client: Any, queue_url: str, handles: Sequence[str]) -> int:
    """Delete by receipt handle, ten a call; the number SQS confirmed."""
    deleted = 0
    for start in range(0, len(handles), 10):
        entries = [
            {"Id": str(index), "ReceiptHandle": handle}
            for index, handle in enumerate(handles[start : start + 10])
        ]
        answer = client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        deleted += len(answer.get("Successful", []))
        for failure in answer.get("Failed", []):
            log.warning("sqs delete failed id=%s reason=%s", failure.get("Id"), failure.get("Message"))
    return deleted


def region_of_queue(url: str) -> str | None:
    """``us-west-2`` from ``https://sqs.us-west-2.amazonaws.com/…``; None for another host (moto)."""
    host = url.split("//", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sqs" else None


def is_transient(error: BaseException) -> bool:
    """A store failure that succeeds when tried again (PostgreSQL deadlock, serialization)."""
    orig = error.orig if isinstance(error, DBAPIError) else None
    return getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES


@dataclass
class QueueConsumer:
    """Consumes one queue with one handler. Safe with any number of consumers on the same queue."""

    name: str
    """What the queue carries (``ses``, ``health``, ``mail``): the label of its metrics and dead letters."""
    engine: Engine
    client: Any
    queue_url: str
    handler: Handler
    clock: Clock = utc_now
    dead_letter_url: str | None = None
    max_receives: int = 5
    wait_seconds: int = 20
    batch_size: int = 10
    visibility_timeout: int = 60
    stopping: threading.Event | None = None
    """Set when the process is told to stop: a batch received after that is released at once."""

    def receive(self) -> list[QueueMessage]:
        response = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            VisibilityTimeout=self.visibility_timeout,
            AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        )
        return [_message(raw) for raw in response.get("Messages", [])]

    def poll_once(self) -> PollReport:
        """Receive one batch and see it through: handled and deleted, dead-lettered, or left."""
        messages = self.receive()
        report = PollReport(received=len(messages))
        if not messages:
            return report
        if self.stopping is not None and self.stopping.is_set():
            change_visibility(self.client, self.queue_url, [m.receipt_handle for m in messages], 0)
            report.released = len(messages)
            return report
        now = self.clock()
        sent = [m.sent_at for m in messages if m.sent_at is not None]
        report.lag_seconds = max(0.0, (now - min(sent)).total_seconds()) if sent else None
        worn = {m.message_id for m in messages if m.receive_count > self.max_receives}
        fresh = [m for m in messages if m.message_id not in worn]
        with Heartbeat(
            self.client, self.queue_url, [m.receipt_handle for m in fresh], self.visibility_timeout
        ):
            outcome = self._handle(fresh) if fresh else Outcome()
        for message_id in worn:
            outcome.poison[message_id] = (
                f"received {self.max_receives}+ times without being processed (max_receives)"
            )
        report.kinds, report.stored = outcome.kinds, outcome.stored
        by_id = {m.message_id: m for m in messages}
        done = [by_id[i].receipt_handle for i in outcome.done if i in by_id and i not in outcome.poison]
        report.done = len(done)
        report.deleted = delete_messages(self.client, self.queue_url, done) if done else 0
        if outcome.poison:
            report.dead = len(outcome.poison)
            report.deleted += self._dead_letter([(by_id[i], why) for i, why in outcome.poison.items()], now)
        report.left = report.received - report.done - report.dead
        return report

    def _handle(self, messages: list[QueueMessage]) -> Outcome:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return self.handler(messages)
            except DBAPIError as error:
                if attempt == _ATTEMPTS or not is_transient(error):
                    raise
                log.info("store conflict, batch tried again queue=%s attempt=%d", self.name, attempt)
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def _dead_letter(self, poisoned: list[tuple[QueueMessage, str]], now: datetime) -> int:
        """Store each poison message with its reason, then move it to the dead-letter queue."""
        letters = [
            DeadLetter(self.name, self.queue_url, m.message_id, m.body, why, m.receive_count, m.sent_at, now)
            for m, why in poisoned
        ]
        record_dead_letters(self.engine, letters)
        for message, why in poisoned:
            log.warning(
                "sqs message dead-lettered queue=%s id=%s reason=%s", self.name, message.message_id, why
            )
        if self.dead_letter_url is None:
            return 0  # left in the queue: its redrive policy moves it to the dead-letter queue
        for message, why in poisoned:
            self.client.send_message(
                QueueUrl=self.dead_letter_url,
                MessageBody=message.body,
                MessageAttributes={
                    "noticedesk-reason": {"DataType": "String", "StringValue": why[:1000]},
                    "noticedesk-queue": {"DataType": "String", "StringValue": self.name},
                },
            )
        return delete_messages(self.client, self.queue_url, [m.receipt_handle for m, _ in poisoned])

    def run(self, max_polls: int | None = None) -> PollReport:
        """Poll until ``stopping`` is set, or ``max_polls`` times."""
        total = PollReport()
        polls = 0
        while (max_polls is None or polls < max_polls) and not (self.stopping and self.stopping.is_set()):
            polls += 1
            total.add(self.poll_once())
        return total

    def in_flight(self) -> int:
        """Messages in the queue (SQS's approximate counts): waiting, delayed, or being worked on."""
        names = [f"ApproximateNumberOfMessages{state}" for state in ("", "Delayed", "NotVisible")]
        attributes = self.client.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
        return sum(int(attributes["Attributes"].get(name, 0)) for name in names)


def _message(raw: dict[str, Any]) -> QueueMessage:
    attributes = raw.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    return QueueMessage(
        message_id=raw["MessageId"],
        receipt_handle=raw["ReceiptHandle"],
        body=raw.get("Body", ""),
        receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
    )
