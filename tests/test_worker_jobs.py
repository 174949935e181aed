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
    assert build_jobs(engine, Config(), lambda: NOW, WorkerMetrics()) == []


def test_two_workers_send_each_notification_once(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as connection:
        for number in range(120):  # more than one claimed batch
            event = Event("case.opened", str(number), "123456789012", f"case-opened:{number}", {"title": "t"})
            enqueue(connection, event, now=NOW)
    with receiver() as hook:
        config = notify_config(hook.url, tmp_path)
        metrics = [WorkerMetrics(), WorkerMetrics()]
        senders = [build_jobs(engine, config, lambda: NOW, m)[0] for m in metrics]
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
