"""Benchmark: signed SNS POSTs on loopback against the running server (``noticedesk serve``).

    .venv/bin/python bench/ses_webhook.py [--seconds 10]           # beside the reference, with wrk
    .venv/bin/python bench/ses_webhook.py --count 10000 [--workers 1] [--concurrency 32]
    .venv/bin/python bench/ses_webhook.py --rate 1000 [--seconds 10]

Starts the real server in a subprocess (SQLite, certificate pre-seeded in ``certificate_dir``)
and posts distinct signed notifications (a bounce each, SignatureVersion 2) over keep-alive
loopback connections.

**Side by side** (default, no ``--count``/``--rate``): wrk (``/usr/bin/wrk``, one thread, 16
connections, ``bench/wrk_post.lua``) posts 2,000 distinct signed messages in turn for
``--seconds``, first to the reference (bench/webhook_reference.py: a minimal Starlette app, the
same signature check, one SQLite insert committed per message), then to ``noticedesk serve`` on
SQLite, then on PostgreSQL (``--postgres``, a fresh database; skipped if it does not answer).
Each gets a warm-up of 200 other messages first. Printed: req/s, p50/p99, what was refused
(connection errors, non-200, timeouts), and NoticeDesk's ratio to the reference (target >= 0.5,
p99 < 50 ms, nothing refused, on SQLite).

With ``--count``/``--rate``, a load generator of this file's own instead:

- **closed loop** (default): ``--concurrency`` connections each post the next request as soon
  as the previous one is answered: the most the server does. With C connections the mean
  latency is C / throughput by construction (Little's law), so its latencies are saturation
  latencies, not the latency at a given load.
- **open loop** (``--rate R``): requests are due at R per second whatever the server does, and a
  request's latency runs from when it was due (a slow answer delays the requests behind it and
  is counted: no coordinated omission). This is the latency at a given load.

A warm-up (``--warmup``, 200 requests, stored and checked like the rest) comes first, so the
figures are the steady state: certificate in memory, writer thread running, SQLite pages cached.

The load generator is measured too, because it shares the machine's two cores with the server:
it writes pre-built request bytes (signed, serialised and framed before the timer starts) to raw
asyncio streams on uvloop and reads only the status line and Content-Length, which costs a
fraction of what an HTTP client library would. That is legitimate here: what is measured is the
server. Printed: verified requests/s, p50/p99 latency, lost requests (non-200 or not stored),
and CPU seconds per 1,000 requests of the server (all its processes, timed phase only) and of
the load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.webhook_side_by_side import (
    POSTGRES_ADMIN,
    free_port,
    noticedesk_server,
    side_by_side,
    signed_bodies,
)
from tests.sns_signing import certificate_pem, seed_certificate

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants (uvicorn's workers), from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def request_bytes(body: bytes) -> bytes:
    head = (
        "POST /webhooks/sns HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\nx-amz-sns-message-type: Notification\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Outcome:
    latencies: list[float]
    failures: int
    elapsed: float


Exchange = Callable[[bytes], Awaitable[bool]]


async def connect(port: int) -> tuple[Exchange, asyncio.StreamWriter]:
    """One keep-alive connection: ``exchange(request)`` → whether the answer was 200."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def exchange(request: bytes) -> bool:
        writer.write(request)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        return status_line.startswith(b"HTTP/1.1 200 ")

    return exchange, writer


async def closed_loop(port: int, requests: list[bytes], concurrency: int, seconds: float) -> Outcome:
    latencies: list[float] = []
    failures = 0
    pending = list(reversed(requests))
    connections = [await connect(port) for _ in range(concurrency)]
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(exchange: Exchange) -> None:
        nonlocal failures
        while pending and time.perf_counter() < deadline:
            request = pending.pop()
            begin = time.perf_counter()
            ok = await exchange(request)
            latencies.append(time.perf_counter() - begin)
            failures += not ok

    await asyncio.gather(*(worker(exchange) for exchange, _ in connections))
    elapsed = time.perf_counter() - started
    for _, writer in connections:
        writer.close()
    return Outcome(latencies, failures, elapsed)


async def open_loop(port: int, requests: list[bytes], rate: float, connections_count: int) -> Outcome:
    """Request i is due at start + i / rate; latency runs from that moment, whenever it is sent."""
    latencies: list[float] = []
    failures = 0
    due: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    connections = [await connect(port) for _ in range(connections_count)]
    started = time.perf_counter()

    async def schedule() -> None:
        for index, request in enumerate(requests):
            at = started + index / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait((at, request))
        for _ in connections:
            due.put_nowait(None)

    async def worker(exchange: Exchange) -> None:
        nonlocal failures
        while (item := await due.get()) is not None:
            at, request = item
            ok = await exchange(request)
            latencies.append(time.perf_counter() - at)
            failures += not ok

    await asyncio.gather(schedule(), *(worker(exchange) for exchange, _ in connections))
    elapsed = time.perf_counter() - started
    for _, writer in connections:
        writer.close()
    return Outcome(latencies, failures, elapsed)


def local_main(arguments: argparse.Namespace) -> None:
    count = int(arguments.rate * arguments.seconds) if arguments.rate else arguments.count
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        seed_certificate(base / "certs", certificate_pem(now - timedelta(days=1), 30))
        database = base / "webhook.db"
        port = free_port()
        server = noticedesk_server(f"sqlite:///{database}", base, port, arguments.workers)
        try:
            # Signed and framed before the timer starts: signing costs the client ~1 ms a request.
            requests = [request_bytes(body) for body in signed_bodies(now, "u", arguments.warmup + count)]
            warmup, requests = requests[: arguments.warmup], requests[arguments.warmup :]
            for _ in range(300):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/api/ses/suppressed/a@example.org", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            time.sleep(1.0)  # every worker up (with several, the first answer comes from one of them)
            # Steady state: certificate in memory, writer thread started, SQLite pages cached.
            warm = uvloop.run(closed_loop(port, warmup, 8, 60.0))
            server_cpu_before, client_cpu_before = process_tree_cpu(server.pid), time.process_time()
            if arguments.rate:
                outcome = uvloop.run(open_loop(port, requests, arguments.rate, arguments.connections))
            else:
                outcome = uvloop.run(
                    closed_loop(port, requests, arguments.concurrency, arguments.seconds * 6)
                )
            server_cpu = process_tree_cpu(server.pid) - server_cpu_before
            client_cpu = time.process_time() - client_cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        with sqlite3.connect(database) as connection:
            stored = connection.execute("SELECT count(*) FROM ses_events").fetchone()[0]
    latencies = sorted(outcome.latencies)
    sent = len(latencies)
    mode = (
        f"open loop, {arguments.rate:,.0f} req/s due over {arguments.connections} connections"
        if arguments.rate
        else f"closed loop, concurrency {arguments.concurrency}"
    )
    print(
        f"{sent:,} signed POSTs in {outcome.elapsed:.1f} s with {arguments.workers} worker(s), {mode}: "
        f"{sent / outcome.elapsed:,.0f} verified req/s"
    )
    p50, p99 = latencies[sent // 2], latencies[max(0, int(sent * 0.99) - 1)]
    print(f"latency p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    print(
        f"non-200: {outcome.failures + warm.failures}; stored events: {stored:,} "
        f"({arguments.warmup} of them warm-up); lost: {sent + arguments.warmup - stored}"
    )
    print(
        f"CPU per 1,000 requests: server {server_cpu / sent * 1000:.2f} s "
        f"({sent / server_cpu:,.0f} req per server CPU-second), "
        f"load generator {client_cpu / sent * 1000:.2f} s; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, help="requests (closed loop of this file's own client)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32, help="connections (closed loop)")
    parser.add_argument("--rate", type=float, help="open loop: requests due per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk and open loop: duration")
    parser.add_argument("--connections", type=int, default=64, help="connections (open loop)")
    parser.add_argument("--warmup", type=int, default=200, help="requests posted before the timer starts")
    parser.add_argument("--postgres", default=POSTGRES_ADMIN, help="side by side: PostgreSQL server URL")
    arguments = parser.parse_args()
    if arguments.count or arguments.rate:
        local_main(arguments)
    else:
        side_by_side(arguments.seconds, arguments.warmup, arguments.postgres)


if __name__ == "__main__":
    main()
