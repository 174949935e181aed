"""The generic JSON webhook: the message as JSON, signed with HMAC-SHA256 over timestamp and body.

Headers (docs/notifications.md shows a receiver checking them):
``X-NoticeDesk-Timestamp`` (Unix seconds), ``X-NoticeDesk-Signature: v1=<hex>`` where ``<hex>`` is
HMAC-SHA256(secret, ``"<timestamp>." + body``), ``X-NoticeDesk-Delivery`` (the same on every retry
of one message: a receiver drops repeats by it) and ``X-NoticeDesk-Event`` (the event kind).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import orjson

from noticedesk.clock import Clock, utc_now
from noticedesk.notify.channels.base import HttpPool, post_json
from noticedesk.notify.messages import Message

SIGNATURE_VERSION = "v1"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 keyed with ``secret`` over ``timestamp + "." + body``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


@dataclass
class WebhookChannel:
    name: str
    url: str
    secret: str
    timeout_seconds: float = 10.0
    clock: Clock = utc_now
    pool: HttpPool = field(default_factory=HttpPool, repr=False, compare=False)

    def __repr__(self) -> str:  # the URL and the key stay out of every repr, log and traceback
        return f"WebhookChannel(name={self.name!r})"

    def payload(self, message: Message) -> bytes:
        return orjson.dumps(message.as_json(), option=orjson.OPT_SORT_KEYS)

    def send(self, message: Message) -> None:
        body = self.payload(message)
        timestamp = str(int(self.clock().timestamp()))
        headers = {
            "X-NoticeDesk-Timestamp": timestamp,
            "X-NoticeDesk-Signature": signature(self.secret, timestamp, body),
            "X-NoticeDesk-Delivery": message.delivery_id,
            "X-NoticeDesk-Event": message.kind,
        }
        post_json(self.name, self.url, body, headers, self.timeout_seconds, self.pool)

    def close(self) -> None:
        self.pool.close()
