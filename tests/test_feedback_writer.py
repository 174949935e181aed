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


def test_documents_arriving_during_a_commit_share_the_next_transaction(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fixed wait: the first document is committed alone at once; the five that arrive while
    that commit is in flight go together into the next transaction."""
    batches: list[int] = []
    first_in_flight, release = threading.Event(), threading.Event()

    def counting(connection: Any, documents: Any, *rest: Any) -> Any:
        batches.append(len(documents))
        if len(batches) == 1:
            first_in_flight.set()
            release.wait(10)
        return ingest(connection, documents, *rest)

    monkeypatch.setattr("noticedesk.feedback.writer.ingest", counting)
    writer = BatchWriter(sqlite_engine, PolicySettings(), lambda: NOW)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(writer.submit, document(0), "t")
        assert first_in_flight.wait(10)
        rest = [pool.submit(writer.submit, document(index), "t") for index in range(1, 6)]
        while writer._queue.qsize() < 5:
            time.sleep(0.005)
        release.set()
        stored = [first.result(10)] + [future.result(10) for future in rest]
    assert batches == [1, 5]
    assert all(item.new_events == 1 for item in stored)


def test_a_lone_document_is_committed_without_waiting(sqlite_engine: Engine) -> None:
    """An idle writer commits at once: a request alone is answered in one commit's time (the
    writer used to wait 10 ms for company first, so no answer came sooner than that)."""
    writer = BatchWriter(sqlite_engine, PolicySettings(), lambda: NOW)
    writer.submit(document(0), "t")  # thread started, pages cached
    timings = []
    for index in range(1, 21):
        started = time.perf_counter()
        writer.submit(document(index), "t")
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.010


def test_a_coroutine_is_answered_only_after_its_transaction_committed(engine: Engine) -> None:
    """Acknowledge after commit: a crash before the commit leaves SNS unanswered, so it redelivers."""
    release = threading.Event()
    writer = BatchWriter(engine, PolicySettings(), lambda: NOW)
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
    writer = BatchWriter(sqlite_engine, PolicySettings(), lambda: NOW)
    hold = threading.Lock()
    original = writer._write

    def held_write(batch: Any) -> Any:
        with hold:  # the three arrive while a first commit is held: they share the next one
            return original(batch)

    writer._write = held_write  # type: ignore[method-assign]

    async def scenario() -> list[Stored | BaseException]:
        hold.acquire()
        tasks = [asyncio.ensure_future(writer.store(document(index), "t")) for index in range(3)]
        await asyncio.sleep(0.1)
        hold.release()
        return await asyncio.gather(*tasks, return_exceptions=True)

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
