"""A worker put together from the configuration: its queues, its handlers, its jobs, its listener."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from sqlalchemy import Engine

from noticedesk.aws.clients import ClientFactory
from noticedesk.clock import Clock
from noticedesk.config import Config
from noticedesk.errors import ConfigError
from noticedesk.feedback.alarm_state import check_alarms
from noticedesk.feedback.sqs import feedback_handler
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.notify.sending import Sender
from noticedesk.queues.consumer import Handler, QueueConsumer, region_of_queue
from noticedesk.store.locks import exclusive
from noticedesk.triage.queued import health_handler, mail_handler
from noticedesk.triage.run import Triage
from noticedesk.watch.deadlines import raise_deadline_alerts
from noticedesk.watch.notifying import OutboxNotifier
from noticedesk.watch.posture import build_posture_scan
from noticedesk.worker.metrics import WorkerMetrics, worker_app
from noticedesk.worker.runner import Job, Worker

log = logging.getLogger(__name__)
QUEUES = ("ses", "health", "mail")


def build_consumers(
    engine: Engine,
    config: Config,
    clock: Clock,
    clients: ClientFactory,
    only: Sequence[str] = QUEUES,
) -> list[QueueConsumer]:
    """One consumer for each configured queue (of ``only``); none configured is a configuration error."""
    settings = config.worker
    urls = {
        "ses": settings.ses_queue_url,
        "health": settings.health_queue_url,
        "mail": settings.mail_queue_url,
    }
    chosen = [name for name in only if urls[name]]
    if not chosen:
        raise ConfigError(
            "no queue to consume: set [worker] ses_queue_url, health_queue_url or mail_queue_url "
            "(docs/deploy.md)"
        )
    consumers = []
    for name in chosen:
        url = urls[name] or ""
        sqs = clients.client("sqs", region_of_queue(url))
        consumers.append(
            QueueConsumer(
                name,
                engine,
                sqs,
                url,
                _handler(name, engine, config, clock, clients, url),
                clock=clock,
                dead_letter_url=settings.dead_letter_queue_url,
                max_receives=settings.max_receives,
                wait_seconds=settings.wait_seconds,
                batch_size=settings.batch_size,
                visibility_timeout=settings.visibility_timeout_seconds,
            )
        )
    return consumers


def _handler(
    name: str, engine: Engine, config: Config, clock: Clock, clients: ClientFactory, url: str
) -> Handler:
    if name == "ses":
        return feedback_handler(engine, PolicySettings.from_config(config.ses), clock)
    triage = Triage(engine, config, clock)
    if name == "health":
        return health_handler(triage)
    return mail_handler(triage, clients.client("s3", region_of_queue(url)), config.input.max_message_bytes)


def build_jobs(
    engine: Engine, config: Config, clock: Clock, metrics: WorkerMetrics, clients: ClientFactory | None = None
) -> list[Job]:
    """Work every worker runs, safe however many run it: the SES rate alarms on the clock tick, as
    the watcher checks them (one worker at a time: ``store/locks.py``; each change is kept once
    anyway), the scheduled posture scan (one worker at a time), the deadline clocks (each alert
    held once by the outbox, by its dedupe key) and the outbox (each row claimed ``FOR UPDATE SKIP
    LOCKED``)."""
    jobs = [
        Job(
            "alarms",
            config.watch.clock_seconds,
            one_at_a_time(engine, "ses-alarms", ses_alarms(engine, config)),
        )
    ]
    if config.watch.posture is not None and clients is not None:
        scan = build_posture_scan(engine, config, lambda: clients, clock)
        if scan is not None:
            jobs.append(
                Job("posture", config.watch.clock_seconds, one_at_a_time(engine, "posture", scan.run))
            )
    if not config.notify.channels:
        return jobs
    notifier = OutboxNotifier(engine, config.notify, clock)
    missed_within = timedelta(hours=config.watch.missed_within_hours)
    warnings = config.notify.deadline_warnings_hours

    def clocks(now: datetime) -> int:
        return len(raise_deadline_alerts(engine, notifier.enqueue_alert, now, warnings, missed_within))

    return [
        *jobs,
        Job("clocks", config.watch.clock_seconds, clocks),
        Job(
            "outbox",
            OUTBOX_INTERVAL_SECONDS,
            outbox_sender(notifier.sender, metrics),
            close=notifier.close,
        ),
    ]


def ses_alarms(engine: Engine, config: Config) -> Callable[[datetime], list[int]]:
    """The SES alarm check at ``now``: the early-warning cases it opened or noted (logged)."""

    def check(now: datetime) -> list[int]:
        case_ids = check_alarms(engine, config.ses, now=now).case_ids
        for case_id in case_ids:
            log.info("ses alarm case=%s", case_id)
        return case_ids

    return check


def one_at_a_time(
    engine: Engine, name: str, work: Callable[[datetime], object]
) -> Callable[[datetime], object]:
    """``work``, skipped while another process runs it (its turn comes at its next interval)."""

    def run(now: datetime) -> object:
        with exclusive(engine, name) as held:
            if not held:
                log.info("job held by another worker job=%s", name)
                return None
            return work(now)

    return run


OUTBOX_INTERVAL_SECONDS = 5.0
_OUTBOX_BATCH = 50


def outbox_sender(sender: Sender, metrics: WorkerMetrics) -> Callable[[datetime], object]:
    """Sends what is due in the outbox, a claimed batch at a time, until nothing due is left."""

    def send(now: datetime) -> int:
        report = sender.send_due(now, limit=_OUTBOX_BATCH, rounds=None)
        for outcome in ("sent", "retrying", "failed"):
            if ids := getattr(report, outcome):
                metrics.notifications.labels(outcome).inc(len(ids))
        return report.attempted

    return send


@dataclass
class Listener:
    """``/healthz``, ``/readyz``, ``/metrics`` served by uvicorn on a thread of the worker."""

    server: uvicorn.Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        sockets = [s for server in self.server.servers for s in server.sockets]
        return int(sockets[0].getsockname()[1]) if sockets else 0

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def start_listener(app: Any, host: str, port: int) -> Listener:
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="metrics", daemon=True)
    thread.start()
    for _ in range(500):  # up to 5 s for the socket to be bound
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        raise ConfigError(f"cannot listen on {host}:{port} for /healthz and /metrics")
    return Listener(server, thread)


def run_worker(
    engine: Engine,
    config: Config,
    clock: Clock,
    clients: ClientFactory,
    *,
    only: Sequence[str] = QUEUES,
    metrics_port: int | None = None,
    drain: bool = False,
    announce: Callable[[str], None] = lambda _: None,
) -> WorkerMetrics:
    """Build the worker, serve its metrics if asked, run it until stopped (or drained)."""
    consumers = build_consumers(engine, config, clock, clients, only)
    metrics = WorkerMetrics()
    worker = Worker(
        consumers, metrics, clock, build_jobs(engine, config, clock, metrics, clients), drain=drain
    )
    listener = None
    port = metrics_port if metrics_port is not None else config.worker.metrics_port
    if port is not None:
        listener = start_listener(
            worker_app(metrics, engine, consumers, clock), config.worker.metrics_host, port
        )
        announce(f"metrics on http://{config.worker.metrics_host}:{listener.port}/metrics")
    announce("consuming " + ", ".join(f"{c.name} ({c.queue_url})" for c in consumers))
    try:
        worker.run()
    finally:
        if listener is not None:
            listener.stop()
    return metrics
