from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from sqlalchemy import Engine, insert

from noticedesk.aws.clients import ClientFactory
from noticedesk.config import Config, WorkerConfig
from noticedesk.store.db import make_engine
from noticedesk.store.tables import cases
from noticedesk.worker.metrics import WorkerMetrics, worker_app
from noticedesk.worker.setup import build_consumers, start_listener
from tests.queue_helpers import feedback_body

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def queue_url(aws: ClientFactory) -> str:
    return str(aws.client("sqs").create_queue(QueueName="ses")["QueueUrl"])


def open_case(engine: Engine, number: int, reply_by: datetime | None, status: str = "new") -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(cases).values(
                case_key=f"k-{number}",
                kind="abuse-report",
                stage="notice",
                status=status,
                authenticity="verified",
                facts={},
                reply_by=reply_by,
                opened_at=NOW,
                updated_at=NOW,
            )
        )


def serve(engine: Engine, queue_url: str) -> tuple[Any, WorkerMetrics, Any]:
    config = Config(worker=WorkerConfig(ses_queue_url=queue_url, wait_seconds=0))
    consumers = build_consumers(engine, config, lambda: NOW, ClientFactory())
    metrics = WorkerMetrics()
    listener = start_listener(worker_app(metrics, engine, consumers, lambda: NOW), "127.0.0.1", 0)
    return listener, metrics, consumers


def test_healthz_readyz_and_metrics_over_http(queue_url: str, engine: Engine) -> None:
    open_case(engine, 1, NOW - timedelta(hours=1))
    open_case(engine, 2, NOW + timedelta(hours=5))
    open_case(engine, 3, None)
    open_case(engine, 4, NOW - timedelta(hours=1), status="resolved")
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=queue_url, MessageBody=feedback_body(10)
    )
    listener, metrics, consumers = serve(engine, queue_url)
    try:
        metrics.observe("ses", consumers[0].poll_once())
        base = f"http://127.0.0.1:{listener.port}"
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200
        assert ready.json()["checked"] == ["store", "queue:ses"]
        text = httpx.get(f"{base}/metrics").text
    finally:
        listener.stop()
    assert 'noticedesk_open_cases{urgency="overdue"} 1.0' in text
    assert 'noticedesk_open_cases{urgency="under-24h"} 1.0' in text
    assert 'noticedesk_open_cases{urgency="no-deadline"} 1.0' in text
    assert 'noticedesk_events_processed_total{kind="bounce",queue="ses"} 1.0' in text
    assert 'noticedesk_queue_messages_total{outcome="done",queue="ses"} 1.0' in text
    assert 'noticedesk_queue_depth{queue="ses",state="visible"} 0.0' in text
    assert "noticedesk_queue_lag_seconds" in text


def test_readyz_says_which_part_is_not_reachable(queue_url: str, tmp_path: Any) -> None:
    gone = make_engine(f"sqlite:///{tmp_path}/missing/dir/n.db")  # a folder that does not exist
    listener, _, _ = serve(gone, queue_url)
    try:
        answer = httpx.get(f"http://127.0.0.1:{listener.port}/readyz")
        text = httpx.get(f"http://127.0.0.1:{listener.port}/metrics").text
    finally:
        listener.stop()
    assert answer.status_code == 503
    assert list(answer.json()["failed"]) == ["store"]
    assert "noticedesk_open_cases{" not in text  # the scrape still answers, without what it cannot read
    assert 'noticedesk_queue_depth{queue="ses",state="visible"}' in text


def test_the_store_side_alone_mounts_in_another_app(engine: Engine) -> None:
    """What ``noticedesk serve`` mounts: open cases and notifications by status, the store probe."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from noticedesk.monitoring import store_monitoring

    open_case(engine, 1, NOW + timedelta(hours=30))
    app = Starlette(routes=[Mount("/ops", store_monitoring(engine, lambda: NOW))])
    listener = start_listener(app, "127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{listener.port}/ops"
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready", "checked": ["store"]}
        text = httpx.get(f"{base}/metrics").text
    finally:
        listener.stop()
    assert 'noticedesk_open_cases{urgency="under-72h"} 1.0' in text
    assert 'noticedesk_notifications{status="failed"} 0.0' in text
