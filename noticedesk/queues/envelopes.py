"""What an SQS message body holds: an SNS envelope, an EventBridge event, an S3 event notification. Pure.

SQS bodies are not signature-checked: who may send to the queue is the queue policy's business
(docs/deploy.md gives it), as for SNS→SQS feedback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


class EnvelopeError(ValueError):
    """A body that is not what its queue carries (the message is dead-lettered with this reason)."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int | None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise EnvelopeError(f"not JSON ({what}): {error}") from error


def unwrapped(body: str) -> str:
    """The body, or the ``Message`` of the SNS envelope it is (SNS → SQS without raw delivery)."""
    stripped = body.lstrip()
    if not stripped.startswith("{"):
        return body
    try:
        document = json.loads(stripped)
    except ValueError:
        return body
    if isinstance(document, dict) and document.get("Type") == "Notification":
        message = document.get("Message")
        if isinstance(message, str):
            return message
    return body


def health_event(body: str) -> str:
    """The EventBridge event's JSON text (as received, so a redelivery has the same bytes)."""
    text = unwrapped(body)
    document = _json(text, "an AWS Health event from EventBridge")
    if not isinstance(document, dict) or not isinstance(document.get("detail"), dict):
        raise EnvelopeError("not an AWS Health event: expected an object with a 'detail' object")
    return text


def s3_objects(body: str) -> list[S3Object]:
    """The objects an S3 event notification names (created ones); [] for S3's test event."""
    document = _json(unwrapped(body), "an S3 event notification")
    if isinstance(document, dict) and document.get("Event") == "s3:TestEvent":
        return []
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list) or not records:
        raise EnvelopeError("not an S3 event notification: expected a non-empty 'Records' list")
    found: list[S3Object] = []
    for record in records:
        s3 = record.get("s3") if isinstance(record, dict) else None
        if not isinstance(s3, dict) or record.get("eventSource") != "aws:s3":
            raise EnvelopeError("not an S3 event record: expected eventSource aws:s3 and an 's3' object")
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        bucket, item = s3.get("bucket"), s3.get("object")
        if not isinstance(bucket, dict) or not isinstance(item, dict) or "key" not in item:
            raise EnvelopeError("S3 event record without bucket name or object key")
        size = item.get("size")
        # Keys arrive URL-encoded, spaces as '+' (S3's event format).
        found.append(
            S3Object(
                str(bucket.get("name")),
                unquote_plus(str(item["key"])),
                size if isinstance(size, int) else None,
            )
        )
    return found
