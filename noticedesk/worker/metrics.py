"""The worker's health and Prometheus metrics, as a small ASGI app ``noticedesk serve`` can mount too.

``GET /healthz``: the process answers. ``GET /readyz``: the store and every queue answer (503 with
what failed otherwise). ``GET /metrics``: Prometheus text; what the process counted (messages,
events by kind, errors, queue lag) and what the store and queues hold when scraped (open cases
by urgency, queue depth).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from noticedesk.cases.queries import open_cases_by_urgency
from noticedesk.clock import Clock
from noticedesk.queues.consumer import PollReport, QueueConsumer
from noticedesk.store.refusals import driver_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probe:
    """One thing ``/readyz`` asks: its name and a call that raises when it is not reachable."""

    name: str
    check: Callable[[], object]


class WorkerMetrics:
    """What a worker process counts, in a registry of its own (no module-level state)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.events = Counter(
            "noticedesk_events_processed",
            "Events processed, by queue and kind (SES event type, notice kind, duplicate).",
            ["queue", "kind"],
            registry=self.registry,
        )
        self.messages = Counter(
            "noticedesk_queue_messages",
            "SQS messages received, by queue and outcome (done, dead, left for another try, released).",
            ["queue", "outcome"],
            registry=self.registry,
        )
        self.lag = Gauge(
            "noticedesk_queue_lag_seconds",
            "Age of the oldest message of the last batch received (0 when the queue was empty).",
            ["queue"],
            registry=self.registry,
        )
        self.errors = Counter(
            "noticedesk_errors",
            "Failures the process survived (a poll whose batch was left for another try, a job that failed).",
            ["where"],
            registry=self.registry,
        )

    def observe(self, queue: str, report: PollReport) -> None:
        for outcome in ("done", "dead", "left", "released"):
            if value := getattr(report, outcome):
                self.messages.labels(queue, outcome).inc(value)
        for kind, count in report.kinds.items():
            self.events.labels(queue, kind).inc(count)
        self.lag.labels(queue).set(report.lag_seconds or 0.0)


class StoreCollector(Collector):
    """Read at scrape time: open cases by urgency (and, once the outbox exists, failed notifications)."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "noticedesk_open_cases",
            "Cases not resolved, by how near their next deadline is.",
            labels=["urgency"],
        )
        try:
            counts = open_cases_by_urgency(self.engine, self.clock())
        except Exception as error:  # a scrape must not fail because the store is away: /readyz says so
            log.warning("open cases not counted", extra={"reason": driver_message(error)})
            return
        for name, count in counts.items():
            family.add_metric([name], count)
        yield family


class QueueCollector(Collector):
    """Read at scrape time: how many messages wait in each queue, and how many are being worked on."""

    def __init__(self, consumers: Sequence[QueueConsumer]) -> None:
        self.consumers = consumers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "noticedesk_queue_depth",
            "Messages in each queue (SQS's approximate counts): visible, or in flight.",
            labels=["queue", "state"],
        )
        for consumer in self.consumers:
            try:
                attributes = consumer.client.get_queue_attributes(
                    QueueUrl=consumer.queue_url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
            except Exception as error:
                log.warning("queue depth not read", extra={"queue": consumer.name, "reason": str(error)})
                continue
            family.add_metric([consumer.name, "visible"], float(attributes["ApproximateNumberOfMessages"]))
            family.add_metric(
                [consumer.name, "in-flight"], float(attributes["ApproximateNumberOfMessagesNotVisible"])
            )
        yield family


def store_probe(engine: Engine) -> Probe:
    def check() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return Probe("store", check)


def queue_probe(consumer: QueueConsumer) -> Probe:
    return Probe(
        f"queue:{consumer.name}",
        lambda: consumer.client.get_queue_attributes(
            QueueUrl=consumer.queue_url, AttributeNames=["QueueArn"]
        ),
    )


def health_app(registry: CollectorRegistry, probes: Sequence[Probe]) -> Starlette:
    """``/healthz``, ``/readyz`` and ``/metrics`` over ``registry`` and ``probes``."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def readyz(_: Request) -> Response:  # sync: Starlette runs it in a thread (the probes block)
        failed: dict[str, str] = {}
        for probe in probes:
            try:
                probe.check()
            except Exception as error:
                failed[probe.name] = _reason(error)
        body: dict[str, Any] = {
            "status": "unready" if failed else "ready",
            "checked": [p.name for p in probes],
        }
        if failed:
            body["failed"] = failed
        return JSONResponse(body, status_code=503 if failed else 200)

    def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    )


def worker_app(
    metrics: WorkerMetrics, engine: Engine, consumers: Sequence[QueueConsumer], clock: Clock
) -> Starlette:
    """The worker's app: its counters, the store and queue collectors, readiness of all three."""
    metrics.registry.register(StoreCollector(engine, clock))
    metrics.registry.register(QueueCollector(consumers))
    return health_app(metrics.registry, [store_probe(engine), *(queue_probe(c) for c in consumers)])


def _reason(error: Exception) -> str:
    return " ".join(driver_message(error).split())[:300] if error.args else type(error).__name__
