from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from noticedesk.feedback.events import FeedbackDocument, parse_document
from noticedesk.feedback.ingest import ingest
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.feedback.writer import BatchWriter, Stored
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


def test_documents_arriving_within_the_linger_share_one_transaction(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []

    def counting(connection: Any, documents: Any, *rest: Any) -> Any:
        batches.append(len(documents))
        return ingest(connection, documents, *rest)

    monkeypatch.setattr("noticedesk.feedback.writer.ingest", counting)
    writer = BatchWriter(sqlite_engine, PolicySettings(), lambda: NOW, linger_seconds=0.5)

    def staggered(index: int) -> Stored:
        time.sleep(index * 0.02)  # all well inside the half-second window
        return writer.submit(document(index), "t")

    with ThreadPoolExecutor(5) as pool:
        stored = list(pool.map(staggered, range(5)))
    assert batches == [5]
    assert all(item.new_events == 1 for item in stored)


def test_a_coroutine_is_answered_only_after_its_transaction_committed(engine: Engine) -> None:
    """Acknowledge after commit: a crash before the commit leaves SNS unanswered, so it redelivers."""
    release = threading.Event()
    writer = BatchWriter(engine, PolicySettings(), lambda: NOW, linger_seconds=0)
    original = writer._write

    def held_write(batch: Any) -> Any:
        release.wait(10)
        return original(batch)

    writer._write = held_write  # type: ignore[method-assign]

    async def scenario() -> tuple[bool, int, Stored]:
        task = asyncio.ensure_future(writer.store(document(7), "t"))
        await asyncio.sleep(0.3)
        answered_before_commit = task.done()
        with engine.connect() as connection:
            stored_before = connection.execute(select(func.count()).select_from(ses_events)).scalar_one()
        release.set()
        return answered_before_commit, stored_before, await task

    answered_before_commit, stored_before, stored = asyncio.run(scenario())
    assert not answered_before_commit and stored_before == 0
    assert stored == Stored(duplicate=False, new_events=1)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ses_events)).scalar_one() == 1


def test_a_failed_commit_fails_every_coroutine_of_the_batch(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr("noticedesk.feedback.writer.ingest", broken)
    writer = BatchWriter(sqlite_engine, PolicySettings(), lambda: NOW, linger_seconds=0.2)

    async def scenario() -> list[Stored | BaseException]:
        return await asyncio.gather(
            *(writer.store(document(index), "t") for index in range(3)), return_exceptions=True
        )

    outcomes = asyncio.run(scenario())
    assert len(outcomes) == 3
    assert all(isinstance(outcome, RuntimeError) and "disk full" in str(outcome) for outcome in outcomes)


def test_a_document_the_store_refuses_fails_only_its_own_request(engine: Engine) -> None:
    """Submitted together, one document holding a value no store takes: the others are stored."""
    odd = {"Type": "Notification", "MessageId": "id-odd", "TopicArn": "arn:aws:sns:us-east-1:1:t"}
    message = bounce("odd@example.org", "fb-odd")
    message["mail"]["messageId"] = "ses-\udcff"  # type: ignore[index]
    odd["Message"] = message  # type: ignore[assignment]
    writer = BatchWriter(engine, PolicySettings(), lambda: NOW)
    documents = [document(1), parse_document(odd), document(2)]

    def submit(item: FeedbackDocument) -> Stored | Exception:
        try:
            return writer.submit(item, "t")
        except Exception as error:
            return error

    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(submit, documents))
    assert isinstance(outcomes[1], UnicodeEncodeError)
    assert all(
        isinstance(outcome, Stored) and outcome.new_events == 1 for outcome in (outcomes[0], outcomes[2])
    )
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ses_events)).scalar() == 2
