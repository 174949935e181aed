"""What a worker counts (messages, events by kind, errors, queue lag) and its queues' depth and
readiness, on top of ``noticedesk.monitoring`` (``/healthz``, ``/readyz``, ``/metrics``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.applications import Starlette

from noticedesk.clock import Clock
from noticedesk.monitoring import Probe, StoreCollector, health_app, store_probe
from noticedesk.queues.consumer import PollReport, QueueConsumer

log = logging.getLogger(__name__)


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
        self.notifications = Counter(
            "noticedesk_notification_attempts",
            "Notifications this process tried to send, by outcome (sent, retrying, failed).",
            ["outcome"],
            registry=self.registry,
        )

    def observe(self, queue: str, report: PollReport) -> None:
        for outcome in ("done", "dead", "left", "released"):
            if value := getattr(report, outcome):
                self.messages.labels(queue, outcome).inc(value)
        for kind, count in report.kinds.items():
            self.events.labels(queue, kind).inc(count)
        self.lag.labels(queue).set(report.lag_seconds or 0.0)


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


def queue_probe(consumer: QueueConsumer) -> Probe:
    return Probe(
        f"queue:{consumer.name}",
        lambda: consumer.client.get_queue_attributes(
            QueueUrl=consumer.queue_url, AttributeNames=["QueueArn"]
        ),
    )


def worker_app(
    metrics: WorkerMetrics, engine: Engine, consumers: Sequence[QueueConsumer], clock: Clock
) -> Starlette:
    """The worker's app: its counters, the store and queue collectors, readiness of all three."""

    metrics.registry.register(StoreCollector(engine, clock))
    metrics.registry.register(QueueCollector(consumers))
    return health_app(metrics.registry, [store_probe(engine), *(queue_probe(c) for c in consumers)])
