from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from noticedesk.aws.clients import ClientFactory
from noticedesk.queues.consumer import Outcome, QueueConsumer, QueueMessage, region_of_queue
from noticedesk.queues.deadletters import list_dead_letters
from noticedesk.queues.envelopes import EnvelopeError, health_event, s3_objects, unwrapped
from tests.queue_helpers import s3_event, sns_envelope

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def sqs(aws: ClientFactory) -> Any:
    return aws.client("sqs")


def queue(sqs: Any, name: str) -> str:
    return str(sqs.create_queue(QueueName=name)["QueueUrl"])


def count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def judging(seen: list[str]) -> Any:
    """A handler: bodies starting with 'bad' are poison, the rest done."""

    def handle(messages: Sequence[QueueMessage]) -> Outcome:
        outcome = Outcome()
        for message in messages:
            seen.append(message.body)
            if message.body.startswith("bad"):
                outcome.poison[message.message_id] = f"cannot read {message.body!r}"
            else:
                outcome.done.add(message.message_id)
                outcome.kinds["good"] += 1
        return outcome

    return handle


def consumer(engine: Engine, sqs: Any, url: str, handler: Any, **options: Any) -> QueueConsumer:
    return QueueConsumer("ses", engine, sqs, url, handler, clock=lambda: NOW, wait_seconds=0, **options)


def test_done_messages_are_deleted_and_poison_goes_to_the_dead_letter_queue_with_its_reason(
    sqs: Any, engine: Engine
) -> None:
    url, dead = queue(sqs, "in"), queue(sqs, "dead")
    for body in ("one", "bad two", "three"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    seen: list[str] = []
    report = consumer(engine, sqs, url, judging(seen), dead_letter_url=dead).poll_once()
    assert (report.received, report.done, report.dead, report.left, report.deleted) == (3, 2, 1, 0, 3)
    assert report.kinds == {"good": 2}
    assert count(sqs, url) == 0
    moved = sqs.receive_message(QueueUrl=dead, MessageAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in moved] == ["bad two"]
    assert moved[0]["MessageAttributes"]["noticedesk-reason"]["StringValue"] == "cannot read 'bad two'"
    [letter] = list_dead_letters(engine)
    assert (letter.queue, letter.body, letter.reason, letter.receive_count) == (
        "ses",
        "bad two",
        "cannot read 'bad two'",
        1,
    )


def test_without_a_dead_letter_queue_poison_is_stored_and_left_to_the_redrive_policy(
    sqs: Any, engine: Engine
) -> None:
    url = queue(sqs, "in")
    sqs.send_message(QueueUrl=url, MessageBody="bad")
    report = consumer(engine, sqs, url, judging([]), visibility_timeout=1).poll_once()
    assert (report.dead, report.deleted) == (1, 0)
    assert count(sqs, url) == 1
    assert len(list_dead_letters(engine)) == 1


def test_a_message_received_too_often_is_dead_lettered_without_being_handled(
    sqs: Any, engine: Engine
) -> None:
    url, dead = queue(sqs, "in"), queue(sqs, "dead")
    sqs.send_message(QueueUrl=url, MessageBody="keeps failing")
    for _ in range(2):  # two receives that never finished (visibility 0: back at once)
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    seen: list[str] = []
    report = consumer(engine, sqs, url, judging(seen), dead_letter_url=dead, max_receives=2).poll_once()
    assert seen == []
    assert report.dead == 1
    [letter] = list_dead_letters(engine)
    assert letter.receive_count == 3
    assert "max_receives" in letter.reason


def test_a_failed_handler_deletes_nothing(sqs: Any, engine: Engine) -> None:
    url = queue(sqs, "in")
    sqs.send_message(QueueUrl=url, MessageBody="one")

    def broken(_: Sequence[QueueMessage]) -> Outcome:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        consumer(engine, sqs, url, broken, visibility_timeout=5).poll_once()
    assert count(sqs, url) == 1


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_store_deadlock_is_tried_again_in_place(sqs: Any, engine: Engine) -> None:
    url = queue(sqs, "in")
    sqs.send_message(QueueUrl=url, MessageBody="one")
    calls: list[int] = []
    seen: list[str] = []
    good = judging(seen)

    def flaky(messages: Sequence[QueueMessage]) -> Outcome:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, _Deadlock("deadlock detected"))
        return good(messages)  # type: ignore[no-any-return]

    report = consumer(engine, sqs, url, flaky).poll_once()
    assert (len(calls), report.done, report.deleted) == (2, 1, 1)


def test_a_batch_received_while_stopping_is_released_untouched(sqs: Any, engine: Engine) -> None:
    import threading

    url = queue(sqs, "in")
    sqs.send_message(QueueUrl=url, MessageBody="one")
    stopping = threading.Event()
    stopping.set()
    seen: list[str] = []
    report = consumer(engine, sqs, url, judging(seen), stopping=stopping, visibility_timeout=600).poll_once()
    assert (seen, report.released) == ([], 1)
    assert len(sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1  # visible again at once


def test_dead_letters_are_stored_once(sqs: Any, engine: Engine) -> None:
    url = queue(sqs, "in")
    sqs.send_message(QueueUrl=url, MessageBody="bad")
    poll = consumer(engine, sqs, url, judging([]), visibility_timeout=1)
    poll.poll_once()
    time.sleep(1.1)  # the message comes back (moto honours the visibility timeout)
    assert poll.poll_once().dead == 1
    assert len(list_dead_letters(engine)) == 1


def test_lag_is_the_age_of_the_oldest_message(sqs: Any, engine: Engine) -> None:
    url = queue(sqs, "in")
    sqs.send_message(QueueUrl=url, MessageBody="one")
    later = datetime.now(UTC).replace(microsecond=0)
    report = QueueConsumer(
        "ses", engine, sqs, url, judging([]), clock=lambda: later.replace(year=later.year + 1), wait_seconds=0
    ).poll_once()
    assert report.lag_seconds is not None and report.lag_seconds > 300 * 86_400


def test_region_of_queue() -> None:
    assert region_of_queue("https://sqs.ap-northeast-1.amazonaws.com/111122223333/q") == "ap-northeast-1"
    assert region_of_queue("http://127.0.0.1:5000/123456789012/q") is None


def test_envelopes() -> None:
    inner = {"detail": {"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED"}}
    assert json.loads(health_event(sns_envelope(inner, "m-1"))) == inner
    assert json.loads(health_event(json.dumps(inner))) == inner
    with pytest.raises(EnvelopeError, match="not JSON"):
        health_event("hello")
    with pytest.raises(EnvelopeError, match="'detail' object"):
        health_event("[1]")
    [found] = s3_objects(s3_event("inbox", "mail/a b+c.eml", 42))
    assert (found.bucket, found.key, found.size, found.url) == (
        "inbox",
        "mail/a b+c.eml",
        42,
        "s3://inbox/mail/a b+c.eml",
    )
    assert s3_objects(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    with pytest.raises(EnvelopeError, match="Records"):
        s3_objects("{}")
    assert unwrapped("plain") == "plain"
