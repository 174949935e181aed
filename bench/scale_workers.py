"""bench/scale.py's workers section: SES events per second drained by 1, 2 and 4 worker processes.

Each run gets a fresh PostgreSQL database and fresh queues on one moto server (its own process),
filled with ``events`` SES events (notifications of ``recipients`` events each) before the workers
start; ``noticedesk worker --drain`` processes consume them. The clock runs from the first
feedback row committed to the last, so process start and the final empty poll are not counted.
On a 2-core machine the moto server, PostgreSQL and the workers share the cores: expect the
curve to flatten at 2. Target: 2 workers >= 1.7x one. The CPU seconds the workers and the moto
server spent per 10,000 events are printed too: where the time goes (moto's SQS scans its whole
queue at each receive and delete).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from noticedesk.store.db import open_store
from noticedesk.store.tables import ses_feedback_messages
from tests.worker_fleet import (
    MOTO_PIDS,
    count_rows,
    cpu_seconds,
    fill,
    make_queues,
    moto_server,
    start_workers,
    write_config,
)

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START_SECONDS = 20
"""The SES messages become visible this long after the fill starts: time for the workers to start."""


@contextmanager
def fresh_postgres(admin_url: str) -> Iterator[tuple[str, Engine]]:
    """A new migrated database on the PostgreSQL server of ``admin_url``, dropped afterwards."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"noticedesk_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = open_store(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _drain_rate(endpoint: str, admin_url: str, workers: int, notifications: int, recipients: int) -> float:
    """Events per second ``workers`` processes drain, first commit to last."""
    with fresh_postgres(admin_url) as (url, engine), tempfile.TemporaryDirectory() as folder:
        queues = make_queues(endpoint, f"bench-{uuid.uuid4().hex[:8]}")
        # Visible together once every worker has started (imports, store, first poll): a worker
        # still starting would otherwise compete for the cores with those already draining.
        fill(queues, notifications, 0, recipients=recipients, visible_at=time.time() + START_SECONDS)
        config = write_config(Path(folder) / "worker.toml", queues, visibility=30)
        fleet = start_workers(workers, url, config, endpoint, Path(folder))
        try:
            pids = [MOTO_PIDS[endpoint], *(process.pid for process in fleet.processes)]
            while count_rows(engine, ses_feedback_messages) == 0:
                time.sleep(0.005)
            started, cpu_before = time.perf_counter(), [cpu_seconds(pid) for pid in pids]
            while count_rows(engine, ses_feedback_messages) < notifications:
                time.sleep(0.005)
            elapsed = time.perf_counter() - started
            cpu = [
                after - before
                for after, before in zip([cpu_seconds(pid) for pid in pids], cpu_before, strict=True)
            ]
            codes = fleet.wait(timeout=120)
        finally:
            fleet.stop()
        if codes != [0] * workers:
            raise SystemExit(f"a worker failed: exit codes {codes}; logs in {folder}")
        events = notifications * recipients
        with engine.connect() as connection:
            deadlocks = connection.execute(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        print(
            f"  {workers} worker(s): {events / elapsed:>9,.0f} events/s   CPU s per 10,000 events: "
            f"workers {sum(cpu[1:]) * 10_000 / events:.2f}, moto server {cpu[0] * 10_000 / events:.2f}; "
            f"store deadlocks {deadlocks}"
        )
        return events / elapsed


def run(
    events: int, recipients: int, counts: list[int], runs: int = 2, admin_url: str = POSTGRES_ADMIN
) -> None:
    """``runs`` alternated rounds over ``counts``; the ratios compare each count's best round
    (the machine is shared: the best is the least disturbed)."""
    notifications = events // recipients
    events = notifications * recipients
    print(f"workers: {events:,} SES events ({notifications:,} notifications of {recipients}) per run")
    rates: dict[int, list[float]] = {workers: [] for workers in counts}
    with moto_server() as endpoint:
        for _ in range(runs):
            for workers in counts:
                rates[workers].append(_drain_rate(endpoint, admin_url, workers, notifications, recipients))
    best = {workers: max(found) for workers, found in rates.items()}
    base = best.get(1)
    if base:
        for workers, rate in best.items():
            print(f"  {workers} worker(s): best {rate:,.0f} events/s = {rate / base:.2f}x one worker")
        if 2 in best:
            met = "met" if best[2] / base >= 1.7 else "NOT met"
            print(f"  target 2 workers >= 1.7x one: {met}")
