"""Benchmark: signed SNS POSTs on loopback against the running server (``noticedesk serve``).

    .venv/bin/python bench/ses_webhook.py [--count 5000] [--workers 2] [--concurrency 32]

Starts the real server in a subprocess (SQLite, certificate pre-seeded in ``certificate_dir``),
posts ``--count`` distinct signed notifications (a bounce each), bounded by ``--seconds``, and
prints verified requests/s, p50/p99 latency and lost requests (non-200 or not stored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sns_signing import TOPIC, bounce, certificate_pem, notification, seed_certificate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def post_all(
    port: int, bodies: list[bytes], concurrency: int, seconds: float
) -> tuple[list[float], int]:
    """Keep-alive HTTP/1.1 over raw asyncio streams: the load generator must cost less than the server."""
    latencies: list[float] = []
    failures = 0
    pending = list(reversed(bodies))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while pending and time.perf_counter() < deadline:
                body = pending.pop()
                head = (
                    "POST /webhooks/sns HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: text/plain; charset=UTF-8\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                begin = time.perf_counter()
                writer.write(head + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - begin)
                if b" 200 " not in status_line:
                    failures += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    arguments = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        seed_certificate(base / "certs", certificate_pem(now - timedelta(days=1), 30))
        config = base / "noticedesk.toml"
        config.write_text(f'[sns]\ncertificate_dir = "{base / "certs"}"\nallowed_topics = ["{TOPIC}"]\n')
        database = base / "webhook.db"
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "noticedesk",
                "--db",
                f"sqlite:///{database}",
                "--config",
                str(config),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(arguments.workers),
            ],
        )
        try:
            for _ in range(200):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/api/ses/suppressed/a@example.org", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            bodies = [
                json.dumps(
                    notification(bounce(f"u{index}@example.org", f"fb-{index}"), now, version="2")
                ).encode()
                for index in range(arguments.count)
            ]
            started = time.perf_counter()
            latencies, failures = asyncio.run(
                post_all(port, bodies, arguments.concurrency, arguments.seconds)
            )
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the server and its workers, startup included
        server_cpu = usage.ru_utime + usage.ru_stime
        with sqlite3.connect(database) as connection:
            stored = connection.execute("SELECT count(*) FROM ses_events").fetchone()[0]
    latencies.sort()
    sent = len(latencies)
    print(
        f"{sent:,} signed POSTs in {elapsed:.1f} s with {arguments.workers} worker(s), "
        f"concurrency {arguments.concurrency}: {sent / elapsed:,.0f} verified req/s"
    )
    p50, p99 = latencies[sent // 2], latencies[max(0, int(sent * 0.99) - 1)]
    print(f"latency p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(f"non-200: {failures}; stored events: {stored:,}; lost: {sent - stored}")
    print(
        f"server CPU {server_cpu:.1f} s (startup included): {sent / server_cpu:,.0f} verified requests per "
        "server CPU-second (what the server would do with a core of its own)"
    )


if __name__ == "__main__":
    main()
