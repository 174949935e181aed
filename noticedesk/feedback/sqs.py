"""SES feedback from SQS (SNS → SQS): the handler that stores a batch, and ``ses consume``'s consumer.

The SQS mechanics (long polling, delete only after the commit, visibility heartbeat, dead
letters) are ``queues/consumer.py``'s; the worker (``noticedesk worker``) runs the same handler.
A message that is not feedback, or that the store refuses, is poison: stored with its reason in
the dead letters and left to the queue's redrive policy (or moved to the dead-letter queue when
one is configured). SQS messages are not signature-checked: with SNS→SQS, authenticity rests on
the queue policy (who may send): SQS does not sign what it delivers.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from noticedesk.clock import Clock
from noticedesk.feedback.events import FeedbackDocument, FeedbackFormatError, parse_line
from noticedesk.feedback.ingest import ingest_guarded
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.queues.consumer import Handler, Outcome, QueueConsumer, QueueMessage

log = logging.getLogger(__name__)


def feedback_handler(engine: Engine, settings: PolicySettings, clock: Clock) -> Handler:
    """Stores a batch of SQS messages as feedback in one transaction (``ingest_guarded``)."""

    def handle(messages: Sequence[QueueMessage]) -> Outcome:
        outcome = Outcome()
        documents: list[tuple[FeedbackDocument, str]] = []
        for message in messages:
            try:
                documents.append((parse_line(message.body), f"sqs:{message.message_id}"))
            except FeedbackFormatError as error:
                outcome.poison[message.message_id] = f"not SES feedback: {error}"
        stored = ingest_guarded(engine, documents, settings, clock())
        outcome.stored = stored.new_events
        for label, reason in stored.refused:
            outcome.poison[label.removeprefix("sqs:")] = f"refused by the store: {reason}"
        outcome.kinds = Counter(
            event.event_type
            for document, label in documents
            if label.removeprefix("sqs:") not in outcome.poison
            for event in document.events
        )
        outcome.done = {message.message_id for message in messages} - set(outcome.poison)
        return outcome

    return handle


@dataclass
class PollResult:
    received: int = 0
    new_events: int = 0
    deleted: int = 0
    bad: int = 0


@dataclass
class SqsConsumer:
    """``noticedesk ses consume``: one queue of SES feedback, polled until stopped."""

    engine: Engine
    client: Any
    queue_url: str
    settings: PolicySettings
    clock: Clock
    wait_seconds: int = 20
    max_messages: int = 10
    visibility_timeout: int = 60
    dead_letter_url: str | None = None

    def _consumer(self) -> QueueConsumer:
        return QueueConsumer(
            "ses",
            self.engine,
            self.client,
            self.queue_url,
            feedback_handler(self.engine, self.settings, self.clock),
            clock=self.clock,
            dead_letter_url=self.dead_letter_url,
            wait_seconds=self.wait_seconds,
            batch_size=self.max_messages,
            visibility_timeout=self.visibility_timeout,
        )

    def poll_once(self) -> PollResult:
        return self.run(max_polls=1)

    def run(self, max_polls: int | None = None) -> PollResult:
        """Poll until stopped (Ctrl-C), or ``max_polls`` times."""
        report = self._consumer().run(max_polls)
        return PollResult(report.received, report.stored, report.deleted, report.dead)
