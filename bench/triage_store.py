#!/usr/bin/env python3
"""The store side of triage alone: filing already-read notices into SQLite (or PostgreSQL).

    .venv/bin/python bench/triage_store.py                  # 5,000 notices, 3 runs
    .venv/bin/python bench/triage_store.py --count 20000 --runs 5 --pg postgresql://postgres@127.0.0.1/test

Generates the notices of bench/triage.py, reads them (parse, classify, authenticity: not timed),
then times ``Triage._store`` batch by batch into a fresh store per run: the dedupe and case
lookups, filing, the writes and the commit. Prints CPU and wall microseconds per notice, beside
the bare compat32 parse of the same messages (the baseline of bench/triage.py) timed in between.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.triage import write_mbox
from noticedesk.mail.readers import read_sources
from noticedesk.store.db import normalise_url, open_store
from noticedesk.triage import BATCH_SIZE, Triage


@contextmanager
def fresh_store(folder: Path, run: int, pg_url: str | None) -> Iterator[Engine]:
    if pg_url is None:
        engine = open_store(f"sqlite:///{folder / f'run-{run}.db'}")
        yield engine
        engine.dispose()
        return
    admin = create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")
    name = f"noticedesk_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = open_store(normalise_url(pg_url).rsplit("/", 1)[0] + f"/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5_000, help="notices to generate (default 5,000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs, each into a fresh store")
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to create the stores on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="noticedesk-bench-") as name:
        folder = Path(name)
        mbox = folder / "notices.mbox"
        write_mbox(mbox, args.count)
        items = list(read_sources([str(mbox)]))
        with fresh_store(folder, -1, None) as engine:
            read = [Triage(engine)._read(item) for item in items]
        filed = sum(1 for entry in read if entry.understood and entry.understood.notice.kind.opens_case)
        print(f"{len(read):,} notices read ({filed:,} of a case kind), batches of {BATCH_SIZE}")
        for run in range(args.runs):
            parse = BytesParser()
            started = time.process_time()
            for item in items:
                parse.parsebytes(item.raw)
            parse_cpu = (time.process_time() - started) / len(items)
            with fresh_store(folder, run, args.pg) as engine:
                triage = Triage(engine)
                wall, cpu = time.perf_counter(), time.process_time()
                for start in range(0, len(read), BATCH_SIZE):
                    triage._store(read[start : start + BATCH_SIZE])
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(
                f"run {run + 1}: store side {cpu / len(read) * 1e6:6.1f} us CPU, "
                f"{wall / len(read) * 1e6:6.1f} us wall a notice; "
                f"compat32 parse {parse_cpu * 1e6:6.1f} us CPU a notice"
            )


if __name__ == "__main__":
    main()
