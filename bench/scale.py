"""Benchmark: NoticeDesk beyond one process, section by section.

    .venv/bin/python bench/scale.py                      # every section
    .venv/bin/python bench/scale.py workers [--events 30000] [--recipients 30] [--counts 1,2,4]

Each section measures its baseline in the same run and prints its figures and the ratios to it.

- ``workers``: SES events per second drained from a moto server's SQS by 1, 2 and 4 ``noticedesk
  worker`` processes into PostgreSQL (a fresh database and fresh queues per run). Target: 2 workers
  ≥ 1.7× one. The clock runs from the first feedback row committed to the last, so process start
  and the final empty poll are not counted. The moto server is one Python process: on a 2-core
  machine it, PostgreSQL and the workers share the cores, so expect the curve to flatten at 2.

A section is a ``Section(name, help, arguments, run)`` in ``SECTIONS``: add one there (its own
``add_arguments`` and ``run``), and it gets its own sub-command and runs with the others.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from noticedesk.store.db import open_store
from noticedesk.store.tables import ses_feedback_messages
from tests.worker_fleet import count_rows, fill, make_queues, moto_server, start_workers, write_config

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Section:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], None]


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


# --- workers ---------------------------------------------------------------------------------


def _worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=30_000, help="SES events per run")
    parser.add_argument("--recipients", type=int, default=30, help="events (recipients) per SES notification")
    parser.add_argument("--counts", default="1,2,4", help="worker processes per run, comma-separated")
    parser.add_argument("--postgres", default=POSTGRES_ADMIN, help="PostgreSQL server URL (a database on it)")


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


def run_workers(arguments: argparse.Namespace) -> None:
    counts = [int(part) for part in arguments.counts.split(",")]
    notifications = arguments.events // arguments.recipients
    events = notifications * arguments.recipients
    print(
        f"workers: {events:,} SES events ({notifications:,} notifications of {arguments.recipients}) per run"
    )
    rates: dict[int, float] = {}
    with moto_server() as endpoint:
        for workers in counts:
            rates[workers] = _drain_rate(
                endpoint, arguments.postgres, workers, notifications, arguments.recipients
            )
            print(f"  {workers} worker(s): {rates[workers]:>9,.0f} events/s")
    base = rates.get(1)
    if base:
        for workers, rate in rates.items():
            print(f"  {workers} worker(s) / 1 worker: {rate / base:.2f}x")
        if 2 in rates:
            met = "met" if rates[2] / base >= 1.7 else "NOT met"
            print(f"  target 2 workers >= 1.7x one: {met}")


SECTIONS = [
    Section("workers", "SES events/s with 1, 2 and 4 worker processes", _worker_arguments, run_workers),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="section")
    for section in SECTIONS:
        section.add_arguments(commands.add_parser(section.name, help=section.help))
    arguments = parser.parse_args()
    chosen = [s for s in SECTIONS if arguments.section in (None, s.name)]
    for section in chosen:
        if arguments.section is None:  # every section with its defaults
            section_arguments = commands.choices[section.name].parse_args([])
        else:
            section_arguments = arguments
        section.run(section_arguments)


if __name__ == "__main__":
    main()
