"""The Maildir and the Health queue (a moto server, over HTTP) as watched sources."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from sqlalchemy import Engine, func, select

from noticedesk.config import Config, WatchConfig
from noticedesk.errors import ConfigError
from noticedesk.store.tables import cases, messages, queue_dead_letters
from noticedesk.watch.build import build_watcher
from tests.watch_helpers import abuse_report

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
HEALTH = Path(__file__).parent / "data" / "health" / "risk-credentials-exposed.json"


def maildir(root: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_maildir_mail_is_filed_then_moved_to_cur_as_seen(engine: Engine, tmp_path: Path) -> None:
    folder = maildir(tmp_path / "Maildir")
    (folder / "new" / "1700000000.1.host").write_bytes(abuse_report(1))
    (folder / "new" / "1700000000.2.host").write_bytes(b"not a mail at all \xff\xfe")
    watcher = build_watcher(engine, Config(watch=WatchConfig(maildirs=[folder])), lambda: NOW)
    report = watcher.run_once()
    assert (report.filed, report.unreadable, report.source_errors) == (1, 1, 0)
    assert os.listdir(folder / "new") == []
    assert sorted(os.listdir(folder / "cur")) == ["1700000000.1.host:2,S", "1700000000.2.host:2,S"]
    # The unreadable one is kept in the store with its bytes and reason, then moved all the same.
    assert (count(engine, cases), count(engine, messages)) == (1, 2)
    assert watcher.run_once().filed == 0


def test_a_maildir_mail_read_again_after_a_crash_is_a_duplicate(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    folder = maildir(tmp_path / "Maildir")
    (folder / "new" / "a").write_bytes(abuse_report(2))
    watcher = build_watcher(sqlite_engine, Config(watch=WatchConfig(maildirs=[folder])), lambda: NOW)
    source = watcher.sources[0]
    list(watcher.file([arrival.item for arrival in source.take(10)]))  # committed; killed before the move
    report = watcher.run_once()
    assert (report.filed, report.duplicates) == (0, 1)
    assert (count(sqlite_engine, cases), count(sqlite_engine, messages)) == (1, 1)
    assert os.listdir(folder / "cur") == ["a:2,S"]


def test_a_symlink_in_new_is_never_followed(sqlite_engine: Engine, tmp_path: Path) -> None:
    folder = maildir(tmp_path / "Maildir")
    secret = tmp_path / "outside.txt"
    secret.write_bytes(abuse_report(3))
    (folder / "new" / "link").symlink_to(secret)
    watcher = build_watcher(sqlite_engine, Config(watch=WatchConfig(maildirs=[folder])), lambda: NOW)
    assert watcher.run_once().filed == 0
    assert count(sqlite_engine, messages) == 0
    assert os.listdir(folder / "new") == ["link"]


def test_nothing_to_watch_is_a_configuration_error(sqlite_engine: Engine) -> None:
    with pytest.raises(ConfigError, match="nothing to watch"):
        build_watcher(sqlite_engine, Config(), lambda: NOW)


def test_health_events_from_the_queue_become_cases_and_are_deleted_after(
    engine: Engine, aws_endpoint: str
) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    # moto's state outlives its server in this process: a queue of this test's own.
    url = sqs.create_queue(QueueName=f"noticedesk-health-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    event = HEALTH.read_text()
    sqs.send_message(QueueUrl=url, MessageBody=event)
    sqs.send_message(QueueUrl=url, MessageBody=event)  # EventBridge delivers at least once
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Type": "Notification", "Message": "{}"}))
    config = Config(watch=WatchConfig(health_queue_url=url))
    watcher = build_watcher(
        engine, config, lambda: NOW, sqs_client=lambda _url: boto3.client("sqs", region_name="us-east-1")
    )
    report = watcher.run_once()
    assert (report.filed, report.duplicates, report.unreadable) == (1, 1, 1)
    with engine.connect() as connection:
        kind, account = connection.execute(select(cases.c.kind, cases.c.account_id)).one()
        reason = connection.execute(select(queue_dead_letters.c.reason)).scalar_one()
    assert (kind, account) == ("account-compromised", "111122223333")
    assert "not an AWS Health event" in reason  # kept with its reason, for the redrive policy
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # only the poison one is left
