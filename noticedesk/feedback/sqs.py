"""The SQS consumer: long polling, one transaction per batch, delete only after the commit.

A crash between receive and commit loses nothing: the messages reappear after the visibility
timeout and their redelivery changes nothing (dedupe). While a batch is slow, a heartbeat
extends its visibility so another worker does not take it meanwhile. A message that is not
feedback is logged with its id and left alone: the queue's redrive policy moves it to the
dead-letter queue. SQS messages are not signature-checked: with SNS→SQS, authenticity rests on
the queue policy (who may send), as AWS-FACTS §A.1 says.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from noticedesk.feedback.events import FeedbackDocument, FeedbackFormatError, parse_line
from noticedesk.feedback.ingest import ingest_guarded
from noticedesk.feedback.verdicts import PolicySettings

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    received: int = 0
    new_events: int = 0
    deleted: int = 0
    bad: int = 0


class _Heartbeat:
    """Extends the visibility of in-flight messages every half timeout until stopped."""

    def __init__(self, client: Any, queue_url: str, handles: list[str], timeout: int) -> None:
        self.client, self.queue_url, self.handles, self.timeout = client, queue_url, handles, timeout
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(self.timeout / 2):
            entries = [
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": self.timeout}
                for index, handle in enumerate(self.handles)
            ]
            for start in range(0, len(entries), 10):
                self.client.change_message_visibility_batch(
                    QueueUrl=self.queue_url, Entries=entries[start : start + 10]
                )
            log.info("sqs visibility extended messages=%d", len(entries))

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join()


@dataclass
class SqsConsumer:
    engine: Engine
    client: Any
    queue_url: str
    settings: PolicySettings
    clock: Callable[[], datetime]
    wait_seconds: int = 20
    max_messages: int = 10
    visibility_timeout: int = 60

    def poll_once(self) -> PollResult:
        response = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.max_messages,
            WaitTimeSeconds=self.wait_seconds,
            VisibilityTimeout=self.visibility_timeout,
        )
        messages = response.get("Messages", [])
        result = PollResult(received=len(messages))
        if not messages:
            return result
        documents: list[tuple[FeedbackDocument, str]] = []
        handles: dict[str, str] = {}  # label → receipt handle
        for message in messages:
            label = f"sqs:{message['MessageId']}"
            try:
                documents.append((parse_line(message["Body"]), label))
            except FeedbackFormatError as error:
                log.warning("sqs message not feedback id=%s reason=%s", message["MessageId"], error)
                result.bad += 1
                continue
            handles[label] = message["ReceiptHandle"]
        with _Heartbeat(self.client, self.queue_url, list(handles.values()), self.visibility_timeout):
            stored = ingest_guarded(self.engine, documents, self.settings, self.clock())
            result.new_events = stored.new_events
        # What was not stored stays in the queue: its redrive policy moves it to a dead-letter queue.
        for label, _reason in stored.refused:
            del handles[label]
            result.bad += 1
        handles_left = list(handles.values())
        for start in range(0, len(handles_left), 10):
            entries = [
                {"Id": str(index), "ReceiptHandle": handle}
                for index, handle in enumerate(handles_left[start : start + 10])
            ]
            answer = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            result.deleted += len(answer.get("Successful", []))
            for failure in answer.get("Failed", []):
                log.warning("sqs delete failed id=%s reason=%s", failure.get("Id"), failure.get("Message"))
        return result

    def run(self, max_polls: int | None = None) -> PollResult:
        """Poll until stopped (Ctrl-C), or ``max_polls`` times."""
        total = PollResult()
        polls = 0
        while max_polls is None or polls < max_polls:
            polls += 1
            one = self.poll_once()
            total.received += one.received
            total.new_events += one.new_events
            total.deleted += one.deleted
            total.bad += one.bad
        return total
