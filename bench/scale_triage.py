"""bench/scale.py's triage section: the 50,000-notice mbox with ``--jobs 1`` and ``--jobs 2``.

Runs the real command (``noticedesk triage --json --jobs N``, output to /dev/null) on the mbox of
bench/triage.py, each into a fresh SQLite store, alternately ``--runs`` times, and prints
messages/s, the CPU seconds of the command and its reading processes, and the speed-up
(target: ``--jobs 2`` >= 1.7x ``--jobs 1``). Both stores must end with the same cases and
messages: checked after each pair.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.triage import write_mbox

JOBS = (1, 2)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def triage_once(mbox: Path, database: Path, jobs: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its workers) of one run into a fresh store."""
    database.unlink(missing_ok=True)
    command = [sys.executable, "-m", "noticedesk", "--db", f"sqlite:///{database}", "triage", "--json"]
    subprocess.run([*command[:5], "cases"], check=True, capture_output=True)  # migrated first
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run([*command, "--jobs", str(jobs), str(mbox)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu


def stored(database: Path) -> tuple[int, int, int]:
    with sqlite3.connect(database) as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("messages", "cases", "case_events")
        )


def run(folder: Path, count: int, runs: int) -> float:
    """Print the section; return the best speed-up of ``--jobs 2`` over ``--jobs 1``."""
    mbox = folder / "notices.mbox"
    size = write_mbox(mbox, count)
    print(f"triage: {count:,} notices ({size / 1e6:.0f} MB mbox), runs alternated, fresh SQLite each")
    best: dict[int, float] = {}
    cpu_used: dict[int, float] = {}
    for attempt in range(runs):
        counts = set()
        for jobs in JOBS:
            database = folder / f"triage-{jobs}.db"
            wall, cpu = triage_once(mbox, database, jobs)
            counts.add(stored(database))
            best[jobs] = min(best.get(jobs, wall), wall)
            cpu_used[jobs] = min(cpu_used.get(jobs, cpu), cpu)
            print(
                f"  run {attempt + 1} --jobs {jobs}: {wall:6.1f} s, {count / wall:6,.0f} messages/s, "
                f"CPU {cpu:5.1f} s; load average {os.getloadavg()[0]:.1f}"
            )
        if len(counts) != 1:
            raise SystemExit(f"--jobs 1 and --jobs 2 stored different things: {sorted(counts)}")
    ratio = best[1] / best[2]
    print(
        f"  best: --jobs 1 {count / best[1]:,.0f}/s, --jobs 2 {count / best[2]:,.0f}/s: "
        f"{ratio:.2f}x (target >= 1.7x)"
    )
    overhead = cpu_used[2] / cpu_used[1]
    print(
        f"  CPU of --jobs 2 / --jobs 1: {overhead:.2f} (least of each): on two otherwise idle cores "
        f"--jobs 2 could be at most {2 / overhead:.2f}x --jobs 1; load average {os.getloadavg()[0]:.1f}"
    )
    return ratio
