"""The SNS webhook's work, without HTTP: verify, confirm or ingest, answer (status, JSON body).

Nothing is stored for a message that fails any check; the reason goes to the log and the
sender gets 403. A verified redelivery answers 200 and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from noticedesk.errors import SnsRejected, SnsUnavailable
from noticedesk.feedback.events import FeedbackFormatError, parse_document
from noticedesk.feedback.sns_verify import CertificateNotCached, SnsVerifier
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.feedback.writer import BatchWriter
from noticedesk.printable import loggable

log = logging.getLogger(__name__)
Confirm = Callable[[str, str], None]
"""(TopicArn, Token) → confirm the subscription through the SNS API."""


@dataclass
class SnsWebhook:
    engine: Engine
    verifier: SnsVerifier
    confirm: Confirm
    settings: PolicySettings
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        self.writer = BatchWriter(self.engine, self.settings, self.clock)

    def handle(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            message = self.verifier.verify(body)
            return self._handle_verified(message)
        except SnsUnavailable as error:  # not proven either way: SNS delivers again on a 5xx
            log.warning("sns webhook deferred: %s", loggable(error.reason))
            return 503, {"error": "try again later"}
        except SnsRejected as error:
            log.warning("sns webhook rejected: %s", loggable(error.reason))
            return 403, {"error": "forbidden"}

    async def handle_async(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """``handle`` for the event loop: a notification whose certificate is in memory is verified
        in place (well under a millisecond) and awaits its group commit without holding a thread;
        anything needing I/O (certificate fetch, ConfirmSubscription) goes to a worker thread."""
        try:
            message = self.verifier.verify(body, memory_only=True)
        except CertificateNotCached:
            return await run_in_threadpool(self.handle, body)
        except SnsUnavailable as error:
            log.warning("sns webhook deferred: %s", loggable(error.reason))
            return 503, {"error": "try again later"}
        except SnsRejected as error:
            log.warning("sns webhook rejected: %s", loggable(error.reason))
            return 403, {"error": "forbidden"}
        if message["Type"] != "Notification":
            return await run_in_threadpool(self._handle_verified, message)
        try:
            document = parse_document(message)
        except FeedbackFormatError as error:
            log.warning("sns webhook rejected: verified message is not SES feedback: %s", loggable(error))
            return 403, {"error": "forbidden"}
        try:
            stored = await self.writer.store(document, f"sns:{message['TopicArn']}")
        except Exception:  # the writer logged why; nothing was acknowledged, so SNS delivers it again
            return 500, {"error": "not stored"}
        return 200, {"events": stored.new_events, "duplicate": stored.duplicate}

    def _handle_verified(self, message: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        kind, topic = message["Type"], message["TopicArn"]
        if kind == "SubscriptionConfirmation":
            try:
                self.confirm(topic, message["Token"])
            except (ClientError, BotoCoreError) as error:  # SNS sends the confirmation again
                log.warning(
                    "sns subscription not confirmed topic=%s error=%s", loggable(topic), loggable(error)
                )
                return 502, {"error": "confirmation failed"}
            log.warning("sns subscription confirmed topic=%s", loggable(topic))
            return 200, {"confirmed": topic}
        if kind == "UnsubscribeConfirmation":
            # Following its SubscribeURL would subscribe again: a person decides that.
            log.warning("sns unsubscribe confirmation received topic=%s (not followed)", loggable(topic))
            return 200, {"unsubscribed": topic}
        try:
            document = parse_document(message)
        except FeedbackFormatError as error:
            raise SnsRejected(f"verified message is not SES feedback: {error}") from error
        try:
            stored = self.writer.submit(document, f"sns:{topic}")
        except Exception:  # the writer logged why; nothing was acknowledged, so SNS delivers it again
            return 500, {"error": "not stored"}
        return 200, {"events": stored.new_events, "duplicate": stored.duplicate}


def sns_confirmer(clients: Any) -> Confirm:
    """Confirm with the token through ``ConfirmSubscription`` in the topic's region: no URL followed."""

    def confirm(topic_arn: str, token: str) -> None:
        region = topic_arn.split(":")[3]
        clients.client("sns", region).confirm_subscription(
            TopicArn=topic_arn, Token=token, AuthenticateOnUnsubscribe="true"
        )

    return confirm
