#!/usr/bin/env python3
"""Beyond one process (issue #20): each section prints its figures and its ratio to a baseline
measured in the same run.

    .venv/bin/python bench/scale.py                       # every section
    .venv/bin/python bench/scale.py --only triage --count 50000 --runs 2
    .venv/bin/python bench/scale.py --only workers --events 30000 --workers 1,2,4
    .venv/bin/python bench/scale.py --only diagnose --accounts 50 --latency-ms 50

- triage (bench/scale_triage.py): the 50,000-notice mbox with ``--jobs 1`` and ``--jobs 2``
  (target >= 1.7x).
- workers (bench/scale_workers.py): SES events/s drained from a moto server's SQS into PostgreSQL
  by 1, 2 and 4 ``noticedesk worker`` processes (target: 2 workers >= 1.7x one).
- diagnose (bench/scale_diagnose.py): ``diagnose --all-accounts`` over N moto accounts at
  concurrency 1 and 8, each HTTP request waiting ``--latency-ms`` (target >= 4x).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import scale_diagnose, scale_triage, scale_workers

SECTIONS = ("triage", "workers", "diagnose")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section")
    parser.add_argument("--count", type=int, default=50_000, help="triage: notices (default 50,000)")
    parser.add_argument("--runs", type=int, default=2, help="triage, workers: alternated runs of each")
    parser.add_argument("--accounts", type=int, default=50, help="diagnose: moto accounts")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="diagnose: per HTTP request")
    parser.add_argument("--events", type=int, default=30_000, help="workers: SES events per run")
    parser.add_argument("--recipients", type=int, default=30, help="workers: events per SES notification")
    parser.add_argument("--workers", default="1,2,4", help="workers: processes per run, comma-separated")
    args = parser.parse_args()
    chosen = args.only or SECTIONS
    with tempfile.TemporaryDirectory(prefix="noticedesk-scale-") as name:
        folder = Path(name)
        if "triage" in chosen:
            scale_triage.run(folder, args.count, args.runs)
        if "workers" in chosen:
            counts = [int(part) for part in args.workers.split(",")]
            scale_workers.run(args.events, args.recipients, counts, args.runs)
        if "diagnose" in chosen:
            scale_diagnose.run(args.accounts, args.latency_ms)


if __name__ == "__main__":
    main()
