"""bench/scale.py's workers section: SES events per second drained by 1, 2 and 4 worker processes.

Each run gets a fresh PostgreSQL database and fresh queues on one moto server (its own process),
filled with ``events`` SES events (notifications of ``recipients`` events each) before the workers
start; ``noticedesk worker --drain`` processes consume them. The clock runs from the first
feedback row committed to the last, so process start and the final empty poll are not counted.
On a 2-core machine the moto server, PostgreSQL and the workers share the cores: expect the
curve to flatten at 2. Target: 2 workers >= 1.7x one.
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
from tests.worker_fleet import count_rows, fill, make_queues, moto_server, start_workers, write_config

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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
        fill(queues, notifications, 0, recipients=recipients)
        config = write_config(Path(folder) / "worker.toml", queues, visibility=30)
        fleet = start_workers(workers, url, config, endpoint, Path(folder))
        try:
            while count_rows(engine, ses_feedback_messages) == 0:
                time.sleep(0.005)
            started = time.perf_counter()
            while count_rows(engine, ses_feedback_messages) < notifications:
                time.sleep(0.005)
            elapsed = time.perf_counter() - started
            codes = fleet.wait(timeout=120)
        finally:
            fleet.stop()
        if codes != [0] * workers:
            raise SystemExit(f"a worker failed: exit codes {codes}; logs in {folder}")
        return notifications * recipients / elapsed


def run(events: int, recipients: int, counts: list[int], admin_url: str = POSTGRES_ADMIN) -> None:
    notifications = events // recipients
    events = notifications * recipients
    print(f"workers: {events:,} SES events ({notifications:,} notifications of {recipients}) per run")
    rates: dict[int, float] = {}
    with moto_server() as endpoint:
        for workers in counts:
            rates[workers] = _drain_rate(endpoint, admin_url, workers, notifications, recipients)
            print(f"  {workers} worker(s): {rates[workers]:>9,.0f} events/s")
    base = rates.get(1)
    if base:
        for workers, rate in rates.items():
            print(f"  {workers} worker(s) / 1 worker: {rate / base:.2f}x")
        if 2 in rates:
            met = "met" if rates[2] / base >= 1.7 else "NOT met"
            print(f"  target 2 workers >= 1.7x one: {met}")
