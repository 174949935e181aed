"""Benchmark: the dashboard's board over 10,000 cases and a case with 500 timeline events, on
SQLite and PostgreSQL; server time per request (first byte in to last byte out, measured inside
the server), p50 / p95 / max.

    .venv/bin/python bench/web.py [--cases 10000] [--events 500] [--requests 200] [--postgres URL]

Baseline, measured in the same run on the same store: ``list_cases``, the terminal board's read of
every open case (what a page would cost if it read the board the CLI's way).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scale_workers import POSTGRES_ADMIN, fresh_postgres
from noticedesk.cases.queries import list_cases
from noticedesk.config import Config
from noticedesk.store.db import open_store
from noticedesk.store.tables import case_events, cases, checklist_items, messages
from noticedesk.users import add_user
from noticedesk.web.app import create_app
from tests.live_server import running

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
PASSWORD = "bench-password-only"
KINDS = ("abuse-report", "account-compromised", "ses-bounce", "ses-complaint", "account-hold")
STATUSES = ("new", "acknowledged", "diagnosing", "remediating", "replied", "resolved")
TARGET_MS = 50.0


def fill(engine: Engine, count: int, events: int) -> int:
    """``count`` cases over 200 accounts with deadlines from 3 days past to 30 ahead, six checklist
    items each; the last case gets ``events`` timeline events and a raw notice. Returns its id."""
    rows, items = [], []
    for number in range(1, count + 1):
        hours = (number * 7919) % (33 * 24) - 72
        rows.append(
            {
                "id": number,
                "case_key": f"bench-{number}",
                "account_id": f"{100000000000 + number % 200}",
                "kind": KINDS[number % len(KINDS)],
                "case_ref": f"{number:011d}-1",
                "stage": "notice",
                "status": STATUSES[number % len(STATUSES)],
                "title": f"Your AWS Abuse Report [{number:011d}-1] [AWS ID {100000000000 + number % 200}]",
                "authenticity": "verified" if number % 3 else "unverified",
                "facts": {"account_id": f"{100000000000 + number % 200}", "ip_addresses": ["203.0.113.7"]},
                "reply_by": NOW + timedelta(hours=hours) if number % 10 else None,
                "enforcement_at": NOW + timedelta(hours=hours + 24),
                "last_notice_at": NOW - timedelta(hours=2),
                "opened_at": NOW - timedelta(days=1),
                "updated_at": NOW,
            }
        )
        items += [
            {
                "case_id": number,
                "item_key": f"step-{step}",
                "position": step,
                "text_en": f"Step {step} of the runbook",
                "text_ja": f"手順 {step}",
                "done_at": NOW if step < number % 4 else None,
                "done_by": "bench" if step < number % 4 else None,
            }
            for step in range(6)
        ]
    with engine.begin() as connection:
        for start in range(0, count, 2000):
            connection.execute(insert(cases), rows[start : start + 2000])
        for start in range(0, len(items), 6000):
            connection.execute(insert(checklist_items), items[start : start + 6000])
        busy = count
        connection.execute(
            insert(case_events),
            [
                {
                    "case_id": busy,
                    "at": NOW - timedelta(minutes=events - index),
                    "type": ("note", "checklist", "reply-drafted", "action-planned")[index % 4],
                    "actor": "bench",
                    "summary": f"event {index} of the busy case",
                    "detail": {"item": f"step-{index % 6}"},
                }
                for index in range(events)
            ],
        )
        raw = (
            b"From: no-reply-aws@amazon.com\r\nSubject: Your AWS Abuse Report\r\n\r\n"
            + b"We have received a report that your instance was used for port scanning.\r\n" * 40
        )
        connection.execute(
            insert(messages).values(
                dedupe_key="bench-raw",
                sha256="0" * 64,
                source="bench",
                format="eml",
                raw=raw,
                received_at=NOW,
                subject="Your AWS Abuse Report",
                case_id=busy,
            )
        )
    with engine.connect() as connection:  # planner statistics, as autovacuum / a DBA keeps them
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return busy


class ServerTimer:
    """ASGI wrapper: the time each request spends in the app, first event in to last byte out."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.samples.append((time.perf_counter() - started) * 1000)

        await self.app(scope, receive, timed)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))], ordered[-1]


@contextmanager
def logged_in(url: str) -> Iterator[httpx.Client]:
    import re

    with httpx.Client(base_url=url, timeout=60) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        answer = client.post(
            "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token[1]}
        )
        assert answer.status_code in (200, 303), answer.status_code
        yield client


def measure(engine: Engine, store: str, count: int, events: int, requests: int) -> list[tuple[str, float]]:
    started = time.perf_counter()
    busy = fill(engine, count, events)
    add_user(engine, "bench", PASSWORD, "admin", NOW)
    took = time.perf_counter() - started
    print(f"\n{store}: {count:,} cases and a case of {events} events stored in {took:.1f} s")
    baseline = []
    for _ in range(max(requests // 10, 5)):
        begin = time.perf_counter()
        list_cases(engine)
        baseline.append((time.perf_counter() - begin) * 1000)
    timer = ServerTimer(create_app(engine, Config(), clock=lambda: NOW))
    pages: list[tuple[str, str]] = [
        ("board, first page", "/"),
        ("board, search", "/?q=00000001234"),
        ("board, kind + overdue", "/?kind=abuse-report&overdue=1"),
        ("board, page 99 (offset 9,800)", "/?status=all&offset=9800"),
        ("API board", "/api/cases"),
        (f"case page, {events} events", f"/cases/{busy}"),
        (f"API case, {events} events", f"/api/cases/{busy}"),
    ]
    p95s = []
    with running(timer) as url, logged_in(url) as client:
        print(f"{'request':<34}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}   vs baseline p50")
        base50, base95, basemax = percentiles(baseline)
        print(f"{'baseline: list_cases (every case)':<34}{base50:>9.1f}{base95:>9.1f}{basemax:>9.1f}")
        for name, path in pages:
            for _ in range(10):  # warm-up: caches, compiled templates, prepared statements
                assert client.get(path).status_code == 200
            timer.samples.clear()
            for _ in range(requests):
                client.get(path)
            p50, p95, top = percentiles(timer.samples)
            verdict = "ok" if p95 < TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
            print(f"{name:<34}{p50:>9.1f}{p95:>9.1f}{top:>9.1f}   {base50 / p50:>5.1f}x faster  {verdict}")
            p95s.append((name, p95))
    return p95s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", default=POSTGRES_ADMIN, help="PostgreSQL server URL ('' to skip)")
    arguments = parser.parse_args(argv)
    results: dict[str, list[tuple[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(f"sqlite:///{folder}/bench.db")
        try:
            results["SQLite"] = measure(
                engine, "SQLite", arguments.cases, arguments.events, arguments.requests
            )
        finally:
            engine.dispose()
    if arguments.postgres:
        with fresh_postgres(arguments.postgres) as (_, engine):
            results["PostgreSQL"] = measure(
                engine, "PostgreSQL", arguments.cases, arguments.events, arguments.requests
            )
    over = [(store, name, p95) for store, rows in results.items() for name, p95 in rows if p95 >= TARGET_MS]
    print()
    if over:
        for store, name, p95 in over:
            print(f"over target: {store} {name} p95 {p95:.1f} ms")
        return 1
    print(f"every p95 under {TARGET_MS:.0f} ms on {' and '.join(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
