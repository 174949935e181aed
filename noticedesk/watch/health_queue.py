"""An SQS queue of AWS Health events (an EventBridge rule's target) as a watched source.

EventBridge puts the event itself in the message body; through an SNS topic it arrives wrapped
in SNS's envelope (``Type`` + ``Message``), which is unwrapped. A message is deleted only after
its event is committed; until then it comes back after the visibility timeout, and the event's
dedupe key (its bytes) keeps a redelivery from filing it twice. A body that is not a Health event
is stored as an unreadable input (raw bytes and reason, as ``triage`` keeps one) and deleted.
Authenticity rests on the queue policy: only the EventBridge rule may send (docs/watch.md).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from noticedesk.errors import WatchError
from noticedesk.mail.readers import split_health
from noticedesk.watch.sources import Arrival

log = logging.getLogger(__name__)
_QUEUE_HOST = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/", re.I)
_MAX_PER_RECEIVE = 10  # SQS's own limit


def queue_region(url: str) -> str | None:
    """The region in an SQS queue URL (``https://sqs.eu-west-1.amazonaws.com/…``), if it names one."""
    match = _QUEUE_HOST.match(url)
    return match.group(1) if match else None


def unwrapped(body: str) -> str:
    """The event inside an SNS envelope, or the body itself."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return body
    if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
        return str(document["Message"])
    return body


class HealthQueueSource:
    def __init__(self, client: Any, queue_url: str, visibility_timeout: int = 120) -> None:
        self.client = client
        self.queue_url = queue_url
        self.visibility_timeout = visibility_timeout
        self.name = f"sqs:{queue_url.rstrip('/').rsplit('/', 1)[-1]}"

    def take(self, limit: int) -> list[Arrival]:
        try:
            response = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max(1, min(limit, _MAX_PER_RECEIVE)),
                WaitTimeSeconds=0,  # the watcher waits elsewhere (IMAP IDLE or its poll interval)
                VisibilityTimeout=self.visibility_timeout,
            )
        except (BotoCoreError, ClientError) as error:
            raise WatchError(f"{self.name}: cannot receive: {' '.join(str(error).split())}") from error
        arrivals: list[Arrival] = []
        for message in response.get("Messages", []):
            raw = unwrapped(message.get("Body", "")).encode("utf-8", "surrogateescape")
            source = f"{self.name}/{message['MessageId']}"
            arrivals.extend(Arrival(item, message["ReceiptHandle"]) for item in split_health(raw, source))
        return arrivals

    def filed(self, arrivals: list[Arrival]) -> None:
        handles = list(dict.fromkeys(str(arrival.token) for arrival in arrivals))
        for start in range(0, len(handles), _MAX_PER_RECEIVE):
            entries = [
                {"Id": str(index), "ReceiptHandle": handle}
                for index, handle in enumerate(handles[start : start + _MAX_PER_RECEIVE])
            ]
            try:
                answer = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as error:
                # Filed: a redelivery is a duplicate, filed once.
                raise WatchError(f"{self.name}: filed, but cannot delete: {error}") from error
            for failure in answer.get("Failed", []):
                log.warning(
                    "sqs delete failed", extra={"source": self.name, "reason": failure.get("Message")}
                )

    def close(self) -> None:
        pass
