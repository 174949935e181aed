"""SES feedback documents → ``FeedbackEvent`` values, one per (event, recipient). Pure.

Three shapes arrive: an SNS envelope (``Type`` + ``Message``, the message a JSON *string*), a
bare identity notification (``notificationType``) and a configuration-set event record
(``eventType``). Unknown fields are ignored (SES adds fields at any time); unknown event types
are kept as ``other`` rather than dropped. What SNS and SES send: docs/aws-facts.md, 1 and 3.

Addresses: the domain is lower-cased (it is case-insensitive by RFC 5321), and so is the local
part. The local part is case-sensitive in theory, but no large mailbox provider treats it so,
and SES's own suppression list matches addresses case-insensitively. Treating ``Bob@`` and
``bob@`` as one address can only suppress more, never mail someone who complained.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from noticedesk.text import without_nul

# Lenient match of event type names: "Rendering Failure", "DeliveryDelay", "BOUNCE" all work.
_TYPES = {
    "send": "send",
    "delivery": "delivery",
    "bounce": "bounce",
    "complaint": "complaint",
    "deliverydelay": "delivery-delay",
    "reject": "reject",
    "renderingfailure": "rendering-failure",
    "open": "open",
    "click": "click",
    "subscription": "subscription",
}


class FeedbackFormatError(ValueError):
    """The document is not an SES feedback document (or an SNS envelope holding one)."""


class FeedbackEvent(NamedTuple):
    """One thing that happened to one recipient (or to a message, for reject / rendering failure).

    A named tuple rather than a dataclass: a million of them are built per ingest run.
    """

    event_type: str
    address: str | None
    occurred_at: datetime
    feedback_key: str
    """``feedbackId`` for bounces and complaints; else type + SES message id + event time."""
    feedback_id: str | None = None
    ses_message_id: str | None = None
    bounce_type: str | None = None
    bounce_sub_type: str | None = None
    complaint_type: str | None = None
    complaint_sub_type: str | None = None
    diagnostic: str | None = None
    account_id: str | None = None
    region: str | None = None
    identity: str | None = None
    configuration_set: str | None = None
    sns_message_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        """The same feedback for the same address is the same event, however often it arrives."""
        return self.dedupe_digest.hex()

    @property
    def dedupe_digest(self) -> bytes:
        """``dedupe_key`` as the 20 bytes it spells (SHA-1 of feedback key and address)."""
        text = f"{self.feedback_key}|{self.address or ''}"
        return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).digest()


@dataclass(frozen=True, slots=True)
class FeedbackDocument:
    """What one input (an SNS message or a bare notification) carried."""

    sns_message_id: str | None
    topic_arn: str | None
    events: tuple[FeedbackEvent, ...]


_NOT_IN_ADDRESS = re.compile(r"[\s\x00-\x1f\x7f]")  # whitespace, control characters
MAX_ADDRESS = 320
"""Longer is not an address (RFC 5321 allows 254 in a path; the store's columns hold 320)."""


def normalise_address(value: str) -> str | None:
    """``"Name" <Bob@Example.ORG>`` → ``bob@example.org``; None when it is not an address."""
    text = value.strip()
    if "<" in text:
        text = parseaddr(text)[1]
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or len(text) > MAX_ADDRESS or _NOT_IN_ADDRESS.search(text):
        return None
    return f"{local}@{domain.rstrip('.')}".lower()


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


@lru_cache(maxsize=256)
def event_type_of(name: str) -> str:
    key = "".join(name.split()).replace("_", "").replace("-", "").lower()
    return _TYPES.get(key, "other")


def parse_line(text: str | bytes) -> FeedbackDocument:
    try:
        document = _loads(text)
    except orjson.JSONDecodeError as error:
        # orjson's own words ("unexpected character, expected a string key") and where in the line
        raise FeedbackFormatError(f"not JSON ({error.msg} at column {error.colno})") from error
    return parse_document(document)


def _loads(text: str | bytes) -> Any:
    """JSON with every NUL (``\\u0000``) read as U+FFFD: PostgreSQL's text refuses NUL, and one
    address holding it would abort the import of every line around it. Rare: looked for first."""
    document = orjson.loads(text)
    escaped = "\\u0000" in text if isinstance(text, str) else b"\\u0000" in text
    return _without_nul(document) if escaped else document


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def parse_document(document: Any) -> FeedbackDocument:
    """An SNS envelope or a bare SES document → its events (the SNS signature is not checked here)."""
    if not isinstance(document, dict):
        raise FeedbackFormatError("not a JSON object")
    if "Type" in document and "Message" in document:
        if document["Type"] != "Notification":
            raise FeedbackFormatError(f"SNS {document['Type']} carries no feedback")
        message = document["Message"]
        if isinstance(message, str):
            try:
                message = _loads(message)
            except orjson.JSONDecodeError as error:
                raise FeedbackFormatError(f"SNS Message is not JSON: {error}") from error
        sns_id = _text(document.get("MessageId"))
        topic = _text(document.get("TopicArn"))
        return FeedbackDocument(sns_id, topic, ses_events(message, sns_id, _region_of_arn(topic)))
    return FeedbackDocument(None, None, ses_events(document))


def ses_events(
    payload: Any, sns_message_id: str | None = None, topic_region: str | None = None
) -> tuple[FeedbackEvent, ...]:
    # The hot path of a file import (one call per line). Returned as a tuple rather than yielded
    # (resuming a generator per event cost more than the event), built positionally from the
    # values every event of the document shares (keywords cost several times more per named
    # tuple), and sends and deliveries (most of the volume) without a helper call per event.
    # What depends only on the sending identity is cached.
    if not isinstance(payload, dict):
        raise FeedbackFormatError("SES feedback is not a JSON object")
    type_name = payload["eventType"] if "eventType" in payload else payload.get("notificationType")
    if not isinstance(type_name, str):
        raise FeedbackFormatError("neither eventType nor notificationType")
    event_type = event_type_of(type_name)
    mail = payload.get("mail")
    if not isinstance(mail, dict):
        mail = {}
    detail = payload.get(_DETAIL_KEYS.get(event_type, event_type))
    if not isinstance(detail, dict):
        detail = {}
    when = (
        parse_timestamp(detail.get("timestamp"))
        or parse_timestamp(mail.get("timestamp"))
        or parse_timestamp(payload.get("timestamp"))
    )
    if when is None:
        raise FeedbackFormatError(f"{type_name}: no usable timestamp")
    ses_id = _text(mail.get("messageId"))
    feedback_id = _text(detail.get("feedbackId"))
    feedback_key = feedback_id or f"{event_type}:{ses_id or '-'}:{when.isoformat()}"
    region, identity = _sender_scope(_text(mail.get("sourceArn")), _text(mail.get("source")))
    # (type, address, time, key, feedback id, SES id, 4 kinds, diagnostic, scope…, SNS id)
    scope = (
        _text(mail.get("sendingAccountId")),
        region or topic_region,
        identity,
        _first_tag(mail, "ses:configuration-set"),
        sns_message_id,
    )
    ids = (when, feedback_key, feedback_id, ses_id)

    def make(address: str | None, kinds: _Kinds, diagnostic: str | None) -> FeedbackEvent:
        return FeedbackEvent._make((event_type, address, *ids, *kinds, diagnostic, *scope))

    kinds: _Kinds
    if event_type == "bounce":
        kinds = (_text(detail.get("bounceType")), _text(detail.get("bounceSubType")), None, None)
        return tuple(
            make(address, kinds, _text(recipient.get("diagnosticCode")))
            for recipient in _list(detail.get("bouncedRecipients"))
            if (address := _recipient(recipient))
        )
    if event_type == "complaint":
        kinds = (
            None,
            None,
            _text(detail.get("complaintFeedbackType")),
            _text(detail.get("complaintSubType")),
        )
        return tuple(
            make(address, kinds, None)
            for recipient in _list(detail.get("complainedRecipients"))
            if (address := _recipient(recipient))
        )
    if event_type == "delivery-delay":
        kinds = (None, _text(detail.get("delayType")), None, None)
        return tuple(
            make(address, kinds, _text(recipient.get("diagnosticCode")))
            for recipient in _list(detail.get("delayedRecipients"))
            if (address := _recipient(recipient))
        )
    if event_type in ("reject", "rendering-failure"):
        # The message or template is at fault, not any address.
        reason = _text(detail.get("reason")) or _text(detail.get("errorMessage"))
        return (make(None, _NO_KINDS, reason),)
    # Deliveries name their recipients; send, open, click, subscription and other events go to
    # every destination of the mail.
    if event_type == "delivery":
        raws, diagnostic = detail.get("recipients"), _text(detail.get("smtpResponse"))
    else:
        raws, diagnostic = mail.get("destination"), None
    if not isinstance(raws, list):
        return ()
    tail = (*ids, *_NO_KINDS, diagnostic, *scope)
    return tuple(
        FeedbackEvent._make((event_type, address, *tail))
        for raw in raws
        if isinstance(raw, str) and (address := normalise_address(raw))
    )


_Kinds = tuple[str | None, str | None, str | None, str | None]
"""Bounce type, bounce sub-type, complaint type, complaint sub-type."""
_NO_KINDS: _Kinds = (None, None, None, None)
_DETAIL_KEYS = {"delivery-delay": "deliveryDelay", "rendering-failure": "failure"}


def _recipient(recipient: Mapping[str, Any]) -> str | None:
    raw = recipient.get("emailAddress")
    return normalise_address(raw) if isinstance(raw, str) else None


@lru_cache(maxsize=1024)
def _sender_scope(source_arn: str | None, source: str | None) -> tuple[str | None, str | None]:
    """(region, identity) of the sending identity: the same few for a whole file, so cached."""
    return _region_of_arn(source_arn), _identity(source_arn, source)


def _identity(arn: str | None, source: str | None) -> str | None:
    if arn and ":identity/" in arn:
        return arn.split(":identity/", 1)[1].lower()
    address = normalise_address(source) if source else None
    return address.rpartition("@")[2] if address else None


def _first_tag(mail: dict[str, Any], name: str) -> str | None:
    tags = mail.get("tags")
    if isinstance(tags, dict):
        values = tags.get(name)
        if isinstance(values, list) and values and isinstance(values[0], str):
            return values[0]
    return None


def _region_of_arn(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    return parts[3] or None if len(parts) > 3 else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
