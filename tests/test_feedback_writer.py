from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from noticedesk.feedback.events import FeedbackDocument, parse_document
from noticedesk.feedback.policy import PolicySettings
from noticedesk.feedback.writer import BatchWriter
from noticedesk.store.tables import ses_events
from tests.sns_signing import bounce

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def document(index: int) -> FeedbackDocument:
    envelope = {"Type": "Notification", "MessageId": f"id-{index}", "TopicArn": "arn:aws:sns:us-east-1:1:t"}
    envelope["Message"] = bounce(f"u{index}@example.org", f"fb-{index}")  # type: ignore[assignment]
    return parse_document(envelope)


def test_concurrent_submits_are_all_committed_and_duplicates_recognised(engine: Engine) -> None:
    writer = BatchWriter(engine, PolicySettings(), lambda: NOW)
    with ThreadPoolExecutor(16) as pool:
        first = list(pool.map(lambda index: writer.submit(document(index), "t"), range(64)))
        again = list(pool.map(lambda index: writer.submit(document(index), "t"), range(64)))
    assert all(not item.duplicate and item.new_events == 1 for item in first)
    assert all(item.duplicate and item.new_events == 0 for item in again)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ses_events)).scalar() == 64


def test_a_failed_commit_fails_the_waiting_request(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr("noticedesk.feedback.writer.ingest", broken)
    writer = BatchWriter(sqlite_engine, PolicySettings(), lambda: NOW)
    with pytest.raises(RuntimeError, match="disk full"):
        writer.submit(document(1), "t")
