from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from noticedesk.aws.clients import ClientFactory
from noticedesk.feedback.sqs import SqsConsumer
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.store.tables import ses_events
from tests.sns_signing import bounce

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def sns_to_sqs(aws: ClientFactory) -> tuple[Any, Any, str, str]:
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="ses-feedback")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="ses-feedback")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return sns, sqs, topic, queue_url


def stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(ses_events)).scalar_one())


class Recording:
    """Wraps the SQS client and notes the calls the consumer makes."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**arguments: Any) -> Any:
            self.calls.append(name)
            return method(**arguments)

        return call


def test_sns_to_sqs_feedback_is_stored_and_deleted_after_commit(
    aws: ClientFactory, sqlite_engine: Engine
) -> None:
    sns, sqs, topic, queue_url = sns_to_sqs(aws)
    for index in range(3):
        sns.publish(TopicArn=topic, Message=json.dumps(bounce(f"u{index}@example.org", f"fb-{index}")))
    sqs.send_message(QueueUrl=queue_url, MessageBody="not feedback")
    client = Recording(sqs)
    consumer = SqsConsumer(sqlite_engine, client, queue_url, PolicySettings(), lambda: NOW, wait_seconds=0)
    result = consumer.run(max_polls=1)
    assert (result.received, result.new_events, result.deleted, result.bad) == (4, 3, 3, 1)
    assert stored(sqlite_engine) == 3
    assert client.calls.index("delete_message_batch") > client.calls.index("receive_message")
    left = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )
    assert left["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"  # the bad one, for the DLQ


def test_redelivery_changes_nothing(aws: ClientFactory, sqlite_engine: Engine) -> None:
    sns, sqs, topic, queue_url = sns_to_sqs(aws)
    message = json.dumps(bounce("u@example.org", "fb-x"))
    sns.publish(TopicArn=topic, Message=message)
    sqs.send_message(QueueUrl=queue_url, MessageBody=message)  # the same feedback, raw
    consumer = SqsConsumer(sqlite_engine, sqs, queue_url, PolicySettings(), lambda: NOW, wait_seconds=0)
    assert consumer.run(max_polls=1).new_events == 1
    assert stored(sqlite_engine) == 1


def test_a_failed_commit_deletes_nothing(
    aws: ClientFactory, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sns, sqs, topic, queue_url = sns_to_sqs(aws)
    sns.publish(TopicArn=topic, Message=json.dumps(bounce("u@example.org", "fb-y")))

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr("noticedesk.feedback.sqs.ingest_guarded", broken)
    client = Recording(sqs)
    consumer = SqsConsumer(sqlite_engine, client, queue_url, PolicySettings(), lambda: NOW, wait_seconds=0)
    with pytest.raises(RuntimeError):
        consumer.poll_once()
    assert "delete_message_batch" not in client.calls


def test_slow_batch_gets_its_visibility_extended(
    aws: ClientFactory, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sns, sqs, topic, queue_url = sns_to_sqs(aws)
    sns.publish(TopicArn=topic, Message=json.dumps(bounce("u@example.org", "fb-z")))
    from noticedesk.feedback import sqs as module

    real = module.ingest_guarded

    def slow(*arguments: Any, **keywords: Any) -> Any:
        time.sleep(1.3)
        return real(*arguments, **keywords)

    monkeypatch.setattr(module, "ingest_guarded", slow)
    client = Recording(sqs)
    consumer = SqsConsumer(
        sqlite_engine, client, queue_url, PolicySettings(), lambda: NOW, wait_seconds=0, visibility_timeout=2
    )
    assert consumer.poll_once().deleted == 1
    assert "change_message_visibility_batch" in client.calls


def test_consume_command_polls_once(aws: ClientFactory, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from noticedesk.cli import cli

    sns, _, topic, queue_url = sns_to_sqs(aws)
    sns.publish(TopicArn=topic, Message=json.dumps(bounce("cli@example.org", "fb-cli")))
    result = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "n.db"), "ses", "consume", "--queue-url", queue_url, "--once"]
    )
    assert result.exit_code == 0, result.output
    assert "1 received, 1 new event(s), 1 deleted" in result.stdout
    check = CliRunner().invoke(cli, ["--db", str(tmp_path / "n.db"), "ses", "check", "cli@example.org"])
    assert check.exit_code == 1


def test_a_message_the_store_refuses_stays_queued_for_the_dead_letter_queue(
    aws: ClientFactory, postgres_engine: Engine
) -> None:
    """PostgreSQL refuses a SES message id longer than its column: that one message is left in the
    queue (its redrive policy moves it on), the others are stored and deleted."""
    sns, sqs, topic, queue_url = sns_to_sqs(aws)
    refused = bounce("long@example.org", "fb-long")
    refused["mail"]["messageId"] = "m" * 300  # type: ignore[index]
    sns.publish(TopicArn=topic, Message=json.dumps(bounce("a@example.org", "fb-a")))
    sns.publish(TopicArn=topic, Message=json.dumps(refused))
    sns.publish(TopicArn=topic, Message=json.dumps(bounce("b@example.org", "fb-b")))
    consumer = SqsConsumer(postgres_engine, sqs, queue_url, PolicySettings(), lambda: NOW, wait_seconds=0)
    result = consumer.run(max_polls=1)
    assert (result.received, result.new_events, result.deleted, result.bad) == (3, 2, 2, 1)
    assert stored(postgres_engine) == 2
    left = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )
    assert left["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
