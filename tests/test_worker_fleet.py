"""The proof: worker processes on PostgreSQL and the moto server's SQS, one killed midway, end in
the same state as one process alone (no loss, no double count). Full size: 30,000 SES events (1,000
notifications of 30 recipients) and 300 notice mails in S3."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from noticedesk.store.db import make_engine
from noticedesk.store.tables import messages, ses_events, ses_feedback_messages
from tests.conftest import postgres_url
from tests.notify_helpers import receiver
from tests.worker_fleet import (
    Fleet,
    Queues,
    count_rows,
    fill,
    make_queues,
    moto_server,
    start_workers,
    state,
    write_config,
)

NOTIFICATIONS, RECIPIENTS, MAILS = 1_000, 30, 300


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def filled(endpoint: str, prefix: str) -> Queues:
    queues = make_queues(endpoint, prefix)
    fill(queues, NOTIFICATIONS, MAILS, recipients=RECIPIENTS)
    return queues


def db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def second_postgres(postgres_admin: Engine, postgres_template: str) -> Iterator[Engine]:
    """A second database of this test, as ``postgres_engine`` makes one."""
    name = f"noticedesk_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    engine = make_engine(postgres_url(name))
    yield engine
    engine.dispose()
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_three_workers_one_killed_end_where_one_worker_ends(
    endpoint: str, postgres_engine: Engine, second_postgres: Engine, tmp_path: Path
) -> None:
    alone, fleet_store = postgres_engine, second_postgres
    one = filled(endpoint, "alone")
    with receiver() as hook:
        config = write_config(tmp_path / "alone.toml", one, webhook=hook.url + "/hook")
        solo = start_workers(1, db_url(alone), config, endpoint, tmp_path)
        assert solo.wait(timeout=300) == [0]
    expected = state(alone)
    told = sorted(json.loads(request.body)["dedupe_key"] for request in hook.delivered)
    assert len(expected["feedback_messages"]) == NOTIFICATIONS
    assert len(expected["events"]) + len(expected["event_keys"]) == NOTIFICATIONS * RECIPIENTS
    assert len(expected["messages"]) == MAILS
    assert expected["dead_letters"] == []
    assert len(told) == len(expected["outbox"]) > 0  # each case opened told once
    assert {status for *_, status in expected["outbox"]} == {"sent"}

    three = filled(endpoint, "fleet")
    logs = tmp_path / "fleet"
    logs.mkdir()
    with receiver() as hook:
        # The worker to be killed does not send: a sender killed mid-send sends again once its lease
        # runs out (at least once, by design); the others send every notification exactly once.
        quiet = write_config(logs / "quiet.toml", three)
        sending = write_config(logs / "sending.toml", three, webhook=hook.url + "/hook")
        fleet = start_workers(3, db_url(fleet_store), [quiet, sending, sending], endpoint, logs)
        codes = _kill_one_midway(fleet, fleet_store)
    assert codes == [-signal.SIGKILL, 0, 0], [log.read_text()[-2000:] for log in fleet.logs]
    assert three.waiting() == 0
    assert state(fleet_store) == expected
    assert count_rows(fleet_store, messages) == MAILS
    assert count_rows(fleet_store, ses_events) == len(expected["events"])
    fleet_told = [json.loads(request.body)["dedupe_key"] for request in hook.delivered]
    assert len(fleet_told) == len(set(fleet_told)) == len(told)


def _kill_one_midway(fleet: Fleet, store: Engine) -> list[int]:
    try:
        deadline = time.monotonic() + 120
        while count_rows(store, ses_feedback_messages) < NOTIFICATIONS // 3:
            assert time.monotonic() < deadline, "the workers made no progress"
            time.sleep(0.05)
        fleet.kill(0)  # SIGKILL midway: whatever it held comes back after the visibility timeout
        return fleet.wait(timeout=300)
    finally:
        fleet.stop()


def test_sigterm_finishes_the_batch_in_hand_and_exits_0(
    endpoint: str, postgres_engine: Engine, tmp_path: Path
) -> None:
    queues = make_queues(endpoint, "term")
    fill(queues, 300, 0, recipients=5)
    config = write_config(tmp_path / "term.toml", queues, visibility=600)  # nothing comes back by itself
    [worker] = start_workers(1, db_url(postgres_engine), config, endpoint, tmp_path).processes
    deadline = time.monotonic() + 60
    while count_rows(postgres_engine, ses_feedback_messages) == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    stored = count_rows(postgres_engine, ses_feedback_messages)
    # Every message is either stored (and deleted) or back in the queue: none held, none lost.
    attributes = queues.client("sqs").get_queue_attributes(
        QueueUrl=queues.ses,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert stored + int(attributes["ApproximateNumberOfMessages"]) == 300
    assert stored < 300, "stopped before the end: the test shows nothing otherwise"
    rest = start_workers(1, db_url(postgres_engine), config, endpoint, tmp_path)
    assert rest.wait(timeout=120) == [0]
    assert count_rows(postgres_engine, ses_feedback_messages) == 300
