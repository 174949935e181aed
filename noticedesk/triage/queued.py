"""Notices that arrive through SQS, filed exactly as ``triage`` files them.

Two queues: AWS Health events (EventBridge → SQS) and inbound mail that SES receiving stored in
S3 (S3 event notification → SQS; the mail is read from the bucket). Each batch of messages goes
through one ``Triage`` run (one transaction), so a redelivered message is a duplicate there
(same Message-ID, same Health document) and changes nothing. A body that is not what the queue
carries, or an object that is gone, is poison (dead-lettered with the reason); an AWS error
reading the bucket leaves the message for another try.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from noticedesk.mail.readers import RawItem, too_large
from noticedesk.queues.consumer import Handler, Outcome, QueueMessage
from noticedesk.queues.envelopes import EnvelopeError, S3Object, health_event, s3_objects
from noticedesk.text import storable_text
from noticedesk.triage.result import TriageResult
from noticedesk.triage.run import Triage

log = logging.getLogger(__name__)
_GONE = frozenset({"NoSuchKey", "NoSuchBucket", "404"})


def health_handler(triage: Triage, queue: str = "health") -> Handler:
    """Files each message's AWS Health event as ``triage`` files a Health JSON file."""

    def handle(messages: Sequence[QueueMessage]) -> Outcome:
        outcome = Outcome()
        items: list[tuple[str, RawItem]] = []
        for message in messages:
            try:
                text = health_event(message.body)
            except EnvelopeError as error:
                outcome.poison[message.message_id] = str(error)
                continue
            raw = text.encode("utf-8", "surrogateescape")
            items.append(
                (message.message_id, RawItem(f"sqs:{queue}:{message.message_id}", None, raw, "health"))
            )
        _file(triage, items, outcome)
        return outcome

    return handle


def mail_handler(triage: Triage, s3: object, max_bytes: int) -> Handler:
    """Reads each mail an S3 event names from its bucket and files it as ``triage`` files an .eml."""

    def handle(messages: Sequence[QueueMessage]) -> Outcome:
        outcome = Outcome()
        items: list[tuple[str, RawItem]] = []
        for message in messages:
            try:
                objects = s3_objects(message.body)
            except EnvelopeError as error:
                outcome.poison[message.message_id] = str(error)
                continue
            read: list[RawItem] = []
            for found in objects:
                item = _read_object(s3, found, max_bytes)
                if isinstance(item, str):  # gone: poison; None: an AWS error, tried again later
                    outcome.poison[message.message_id] = item
                    break
                if item is None:
                    break
                read.append(item)
            else:
                if not objects:
                    outcome.kinds["s3-test-event"] += 1
                    outcome.done.add(message.message_id)
                items += [(message.message_id, item) for item in read]
        _file(triage, items, outcome)
        return outcome

    return handle


def _read_object(s3: object, found: S3Object, max_bytes: int) -> RawItem | str | None:
    if found.size is not None and found.size > max_bytes:
        return RawItem(found.url, None, b"", "mail", too_large(max_bytes))
    try:
        answer = s3.get_object(Bucket=found.bucket, Key=found.key)  # type: ignore[attr-defined]
        body = answer["Body"]
        raw: bytes = body.read(max_bytes + 1)
        body.close()
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _GONE:
            return f"{found.url}: the object is gone ({code})"
        log.warning("s3 object not read", extra={"source": storable_text(found.url), "reason": code})
        return None
    except BotoCoreError as error:
        log.warning("s3 object not read", extra={"source": storable_text(found.url), "reason": str(error)})
        return None
    if len(raw) > max_bytes:
        return RawItem(found.url, None, b"", "mail", too_large(max_bytes))
    return RawItem(found.url, None, raw, "mail")


def _file(triage: Triage, items: Sequence[tuple[str, RawItem]], outcome: Outcome) -> None:
    """One triage run over every item; a message is done once all its items are filed."""
    if not items:
        return
    results: Iterable[TriageResult] = triage.run(item for _, item in items)
    for (message_id, _), result in zip(items, results, strict=True):
        outcome.done.add(message_id)
        if result.duplicate:
            outcome.kinds["duplicate"] += 1
            continue
        outcome.stored += 1
        outcome.kinds[result.notice.kind.value if result.notice else "unreadable"] += 1
