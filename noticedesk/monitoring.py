"""Health and Prometheus metrics any long-running process serves: the worker, and the web app.

``health_app(registry, probes)`` is a small Starlette app: ``GET /healthz`` (the process answers),
``GET /readyz`` (every probe answers; 503 naming the ones that did not) and ``GET /metrics``
(Prometheus text of ``registry``). ``StoreCollector`` adds what the store holds when scraped:
open cases by urgency and notifications by outbox status. ``noticedesk serve`` can mount
``store_monitoring(engine, clock)`` as it is; the worker adds its own counters and queues.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from noticedesk.cases.queries import open_cases_by_urgency
from noticedesk.clock import Clock
from noticedesk.store.refusals import driver_message
from noticedesk.store.tables import outbox

log = logging.getLogger(__name__)
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")


@dataclass(frozen=True)
class Probe:
    """One thing ``/readyz`` asks: its name and a call that raises when it is not reachable."""

    name: str
    check: Callable[[], object]


class StoreCollector(Collector):
    """Read at scrape time: open cases by urgency, notifications by outbox status."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = open_cases_by_urgency(self.engine, self.clock())
            with self.engine.connect() as connection:
                statuses: dict[str, int] = dict(
                    connection.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
                )
        except Exception as error:  # a scrape must not fail because the store is away: /readyz says so
            log.warning("store not read for the metrics", extra={"reason": driver_message(error)})
            return
        cases = GaugeMetricFamily(
            "noticedesk_open_cases",
            "Cases not resolved, by how near their next deadline is.",
            labels=["urgency"],
        )
        for name, count in counts.items():
            cases.add_metric([name], count)
        yield cases
        notifications = GaugeMetricFamily(
            "noticedesk_notifications",
            "Notifications in the outbox by status (failed: gave up after [notify] max_tries).",
            labels=["status"],
        )
        for status in OUTBOX_STATUSES:
            notifications.add_metric([status], int(statuses.get(status, 0)))
        yield notifications


def store_probe(engine: Engine) -> Probe:
    def check() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return Probe("store", check)


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
                failed[probe.name] = " ".join(driver_message(error).split())[:300]
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


def store_monitoring(engine: Engine, clock: Clock, registry: CollectorRegistry | None = None) -> Starlette:
    """The store's side alone (``noticedesk serve``): its collector in ``registry``, its probe."""
    registry = registry or CollectorRegistry()
    registry.register(StoreCollector(engine, clock))
    return health_app(registry, [store_probe(engine)])
