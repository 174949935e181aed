from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from noticedesk.aws.clients import ClientFactory
from noticedesk.config import Config, WorkerConfig
from noticedesk.errors import ConfigError
from noticedesk.queues.deadletters import list_dead_letters
from noticedesk.store.tables import cases, messages, ses_events, ses_feedback_messages
from noticedesk.worker.metrics import WorkerMetrics
from noticedesk.worker.runner import Job, Worker
from noticedesk.worker.setup import build_consumers
from tests.queue_helpers import abuse_mail, feedback_body, s3_event, sns_envelope

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HEALTH = Path(__file__).parent / "data" / "health" / "risk-credentials-exposed.json"


@pytest.fixture
def inbound(aws: ClientFactory) -> dict[str, Any]:
    """In the fake AWS: the four queues and the bucket notice mails arrive in."""
    sqs, s3 = aws.client("sqs"), aws.client("s3")
    s3.create_bucket(Bucket="inbound")
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("ses", "health", "mail", "dead")}
    return {"sqs": sqs, "s3": s3, **urls}


def config_for(inbound: dict[str, Any], **extra: Any) -> Config:
    return Config(
        worker=WorkerConfig(
            ses_queue_url=inbound["ses"],
            health_queue_url=inbound["health"],
            mail_queue_url=inbound["mail"],
            dead_letter_queue_url=inbound["dead"],
            wait_seconds=0,
            **extra,
        )
    )


def rows(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def drain(engine: Engine, config: Config, jobs: tuple[Job, ...] = ()) -> WorkerMetrics:
    consumers = build_consumers(engine, config, lambda: NOW, ClientFactory())
    metrics = WorkerMetrics()
    Worker(consumers, metrics, lambda: NOW, jobs, drain=True).run()
    return metrics


def put_mail(inbound: dict[str, Any], key: str, raw: bytes) -> None:
    inbound["s3"].put_object(Bucket="inbound", Key=key, Body=raw)
    inbound["sqs"].send_message(QueueUrl=inbound["mail"], MessageBody=s3_event("inbound", key, len(raw)))


def test_the_three_queues_are_drained_into_the_store(inbound: dict[str, Any], engine: Engine) -> None:
    sqs = inbound["sqs"]
    for index in range(25):
        sqs.send_message(QueueUrl=inbound["ses"], MessageBody=feedback_body(index))
    sqs.send_message(QueueUrl=inbound["health"], MessageBody=HEALTH.read_text())
    for index in range(4):
        put_mail(inbound, f"mail/{index} notice.eml", abuse_mail(index))
    metrics = drain(engine, config_for(inbound))
    assert rows(engine, ses_feedback_messages) == 25
    assert rows(engine, messages) == 5
    with engine.connect() as connection:
        sources = set(connection.execute(select(messages.c.source)).scalars())
        kinds = sorted(connection.execute(select(cases.c.kind)).scalars())
    assert "s3://inbound/mail/0 notice.eml" in sources
    assert kinds == ["abuse-report"] * 4 + ["account-compromised"]
    value = metrics.registry.get_sample_value
    assert value("noticedesk_events_processed_total", {"queue": "mail", "kind": "abuse-report"}) == 4
    assert (
        value("noticedesk_events_processed_total", {"queue": "ses", "kind": "bounce"}) == 2
    )  # 10, 20 (0 complains)
    assert value("noticedesk_queue_messages_total", {"queue": "ses", "outcome": "done"}) == 25
    for name in ("ses", "health", "mail"):
        assert (
            int(
                sqs.get_queue_attributes(QueueUrl=inbound[name], AttributeNames=["All"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
            == 0
        )


def test_redelivered_messages_change_nothing(inbound: dict[str, Any], engine: Engine) -> None:
    sqs = inbound["sqs"]
    for _ in range(2):  # each message twice, as SQS may deliver it (or a worker died before deleting)
        sqs.send_message(QueueUrl=inbound["ses"], MessageBody=feedback_body(10))
        sqs.send_message(
            QueueUrl=inbound["health"], MessageBody=sns_envelope(json.loads(HEALTH.read_text()), "h-1")
        )
        put_mail(inbound, "mail/one.eml", abuse_mail(7))
    metrics = drain(engine, config_for(inbound))
    assert (rows(engine, ses_events), rows(engine, messages), rows(engine, cases)) == (1, 2, 2)
    assert (
        metrics.registry.get_sample_value(
            "noticedesk_events_processed_total", {"queue": "mail", "kind": "duplicate"}
        )
        == 1
    )


def test_poison_of_each_queue_is_dead_lettered_with_its_reason(
    inbound: dict[str, Any], engine: Engine
) -> None:
    sqs = inbound["sqs"]
    sqs.send_message(QueueUrl=inbound["ses"], MessageBody="not feedback")
    sqs.send_message(QueueUrl=inbound["health"], MessageBody='{"detail": 1}')
    sqs.send_message(QueueUrl=inbound["mail"], MessageBody=s3_event("inbound", "gone.eml", 10))
    sqs.send_message(QueueUrl=inbound["mail"], MessageBody="{}")
    put_mail(inbound, "good.eml", abuse_mail(1))  # the batch goes on past them
    drain(engine, config_for(inbound))
    reasons = {letter.queue + ":" + letter.reason for letter in list_dead_letters(engine)}
    assert any(reason.startswith("ses:not SES feedback") for reason in reasons)
    assert "health:not an AWS Health event: expected an object with a 'detail' object" in reasons
    assert "mail:s3://inbound/gone.eml: the object is gone (NoSuchKey)" in reasons
    assert any(reason.startswith("mail:not an S3 event notification") for reason in reasons)
    assert rows(engine, messages) == 1
    dead = sqs.get_queue_attributes(QueueUrl=inbound["dead"], AttributeNames=["ApproximateNumberOfMessages"])
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "4"


def test_a_mail_over_the_size_cap_is_kept_as_unreadable_not_read(
    inbound: dict[str, Any], engine: Engine
) -> None:
    raw = abuse_mail(3) + b"x" * 2048
    put_mail(inbound, "big.eml", raw)
    config = config_for(inbound).model_copy(
        update={"input": Config().input.model_copy(update={"max_message_mib": 0.001})}
    )
    drain(engine, config)
    with engine.connect() as connection:
        [(error, size)] = connection.execute(select(messages.c.error, func.length(messages.c.raw))).all()
    assert "larger than" in error and size == 0


def test_jobs_run_on_the_worker_and_once_more_before_a_drained_exit(
    inbound: dict[str, Any], engine: Engine
) -> None:
    runs: list[datetime] = []
    inbound["sqs"].send_message(QueueUrl=inbound["ses"], MessageBody=feedback_body(1))
    drain(engine, config_for(inbound), (Job("outbox", 3600, runs.append),))
    assert runs == [NOW, NOW]


def test_no_queue_configured_is_a_configuration_error(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="ses_queue_url"):
        build_consumers(engine, Config(), lambda: NOW, ClientFactory())
