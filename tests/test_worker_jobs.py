"""The claimed work a worker runs: the notification outbox, sent once however many workers run it."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from noticedesk.config import Config, NotifyConfig
from noticedesk.notify.events import Event
from noticedesk.notify.outbox import enqueue
from noticedesk.store.tables import outbox
from noticedesk.worker.metrics import WorkerMetrics
from noticedesk.worker.runner import Job, Worker
from noticedesk.worker.setup import build_jobs
from tests.notify_helpers import receiver

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def notify_config(url: str, tmp_path: Path) -> Config:
    (tmp_path / "url").write_text(url + "/hook")
    (tmp_path / "key").write_text("whsec-test")
    channel = {
        "type": "webhook",
        "url": {"file": str(tmp_path / "url")},
        "secret": {"file": str(tmp_path / "key")},
    }
    return Config(notify=NotifyConfig.model_validate({"channels": {"default": channel}}))


def test_no_channel_no_outbox_job(engine: Engine) -> None:
    assert [job.name for job in build_jobs(engine, Config(), lambda: NOW, WorkerMetrics())] == ["alarms"]


def test_the_clock_tick_raises_the_ses_alarms_and_the_alarm_is_told(engine: Engine, tmp_path: Path) -> None:
    from noticedesk.feedback.events import parse_line
    from noticedesk.feedback.ingest import ingest_batches
    from noticedesk.feedback.verdicts import PolicySettings
    from noticedesk.store.tables import cases
    from tests.test_feedback_alarms import line

    with receiver() as hook:
        jobs = {
            job.name: job
            for job in build_jobs(engine, notify_config(hook.url, tmp_path), lambda: NOW, WorkerMetrics())
        }
        assert jobs["alarms"].interval_seconds == Config().watch.clock_seconds
        assert jobs["alarms"].run(NOW) == []  # nothing sent through SES yet: no alarm
        lines = [line("send", index) for index in range(200)] + [line("bounce", index) for index in range(12)]
        ingest_batches(engine, [(parse_line(text), "x") for text in lines], PolicySettings(), NOW)
        (case_id,) = jobs["alarms"].run(NOW)  # type: ignore[misc]
        queued = _outbox_rows(engine)
        assert jobs["alarms"].run(NOW) == []  # raised once: the same alarms again are no news
        assert _outbox_rows(engine) == queued
        jobs["outbox"].run(NOW)
        told = [json.loads(request.body)["kind"] for request in hook.delivered]
    with engine.connect() as connection:
        case = connection.execute(select(cases)).one()
    assert (case.id, case.kind, case.stage) == (case_id, "ses-bounce", "early-warning")
    assert told and set(told) == {"ses.alarm.raised"} and len(told) == queued


def _outbox_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(connection.execute(select(outbox.c.id)).all())


def test_two_workers_send_each_notification_once(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as connection:
        for number in range(120):  # more than one claimed batch
            event = Event("case.opened", str(number), "123456789012", f"case-opened:{number}", {"title": "t"})
            enqueue(connection, event, now=NOW)
    with receiver() as hook:
        config = notify_config(hook.url, tmp_path)
        metrics = [WorkerMetrics(), WorkerMetrics()]
        senders = [
            job for m in metrics for job in build_jobs(engine, config, lambda: NOW, m) if job.name == "outbox"
        ]
        start = threading.Barrier(2)

        def run(index: int) -> None:
            start.wait()
            senders[index].run(NOW)

        threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        keys = [json.loads(request.body)["dedupe_key"] for request in hook.delivered]
    assert sorted(keys) == sorted(f"case-opened:{number}" for number in range(120))
    sent = [
        m.registry.get_sample_value("noticedesk_notification_attempts_total", {"outcome": "sent"}) or 0
        for m in metrics
    ]
    assert sum(sent) == 120
    with engine.connect() as connection:
        assert set(connection.execute(select(outbox.c.status)).scalars()) == {"sent"}


def test_a_draining_worker_without_queues_runs_its_jobs_and_exits() -> None:
    runs: list[datetime] = []
    Worker([], WorkerMetrics(), lambda: NOW, [Job("count", 60, runs.append)], drain=True).run()
    assert runs == [NOW]


def test_the_deadline_clocks_on_every_worker_tell_each_deadline_once(engine: Engine, tmp_path: Path) -> None:
    from datetime import timedelta

    from sqlalchemy import insert

    from noticedesk.store.tables import cases

    with engine.begin() as connection:
        connection.execute(
            insert(cases).values(
                case_key="k-1",
                account_id="123456789012",
                kind="abuse-report",
                stage="notice",
                status="new",
                authenticity="verified",
                facts={},
                reply_by=NOW + timedelta(hours=1),
                opened_at=NOW,
                updated_at=NOW,
            )
        )
    with receiver() as hook:
        config = notify_config(hook.url, tmp_path)
        for _ in range(2):  # two workers, one after the other, then both again
            for job in build_jobs(engine, config, lambda: NOW, WorkerMetrics()):
                job.run(NOW)
        kinds = [json.loads(request.body)["kind"] for request in hook.delivered]
    assert kinds == ["deadline.approaching"]


def test_a_scheduled_scan_runs_on_one_worker_at_a_time(postgres_engine: Engine) -> None:
    from noticedesk.worker.setup import one_at_a_time

    inside, release, ran = threading.Event(), threading.Event(), []

    def scan(now: datetime) -> None:
        ran.append(now)
        inside.set()
        release.wait(10)

    first = threading.Thread(target=one_at_a_time(postgres_engine, "posture", scan), args=(NOW,))
    first.start()
    assert inside.wait(10)
    assert one_at_a_time(postgres_engine, "posture", scan)(NOW) is None  # another worker: skipped
    release.set()
    first.join()
    assert len(ran) == 1
    one_at_a_time(postgres_engine, "posture", lambda now: ran.append(now))(NOW)  # free again
    assert len(ran) == 2


def test_the_posture_scan_is_a_job_when_configured(sqlite_engine: Engine) -> None:
    from noticedesk.aws.clients import ClientFactory
    from noticedesk.config import PostureConfig, WatchConfig

    config = Config(watch=WatchConfig(posture=PostureConfig(every_hours=12)))
    names = [
        job.name for job in build_jobs(sqlite_engine, config, lambda: NOW, WorkerMetrics(), ClientFactory())
    ]
    assert names == ["alarms", "posture"]
    # no accounts registered: nothing is due, nothing is read from AWS
    assert build_jobs(sqlite_engine, config, lambda: NOW, WorkerMetrics(), ClientFactory())[1].run(NOW) == []
