"""bench/ses_webhook.py's default run: wrk against the reference app and ``noticedesk serve``.

Same load for each, in the same run: wrk (one thread, 16 connections, ``wrk_post.lua``) posting
2,000 distinct signed SNS notifications in turn for a few seconds after a warm-up of 200 others.
The reference (webhook_reference.py) verifies the same signature and commits one SQLite insert
per message; NoticeDesk does all it does (parse the SES document, dedupe, store events and
addresses, policy) and answers 200 only once its group commit is done.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from tests.sns_signing import TOPIC, bounce, certificate_pem, notification, seed_certificate

WRK = "/usr/bin/wrk"
CONNECTIONS = 16
MESSAGES = 2_000
HERE = Path(__file__).resolve().parent
POSTGRES_ADMIN = os.environ.get(
    "NOTICEDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def noticedesk_server(
    db_url: str, base: Path, port: int, workers: int, quiet: bool = False
) -> subprocess.Popen[bytes]:
    """``noticedesk serve`` on ``db_url``, its config trusting the test certificate and topic."""
    config = base / "noticedesk.toml"
    config.write_text(f'[sns]\ncertificate_dir = "{base / "certs"}"\nallowed_topics = ["{TOPIC}"]\n')
    return subprocess.Popen(
        [sys.executable, "-m", "noticedesk", "--db", db_url, "--config", str(config), "serve",
         "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL if quiet else None,
    )  # fmt: skip


def reference_server(database: Path, base: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "webhook_reference.py"), str(port), str(database),
         str(base / "certs"), TOPIC],
    )  # fmt: skip


def wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}) before answering")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("the server did not answer within a minute")


def signed_bodies(now: datetime, prefix: str, count: int) -> list[bytes]:
    """``count`` distinct signed notifications (a bounce each, SignatureVersion 2), serialised."""
    return [
        json.dumps(notification(bounce(f"{prefix}{index}@example.org", f"{prefix}-{index}"), now)).encode()
        for index in range(count)
    ]


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    refused: int
    """Connection, read and write errors, timeouts and answers other than 2xx/3xx."""
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(port: int, bodies: Path, seconds: float) -> WrkRun:
    """wrk posting the lines of ``bodies`` in turn; its summary read from the script's JSON line."""
    output = subprocess.run(
        [WRK, "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "5s",
         "-s", str(HERE / "wrk_post.lua"), f"http://127.0.0.1:{port}/webhooks/sns"],
        env={**os.environ, "BODIES": str(bodies)}, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    summary = json.loads(output.strip().splitlines()[-1])
    refused = sum(summary[key] for key in ("connect", "read", "write", "status", "timeout"))
    return WrkRun(
        summary["requests"],
        summary["duration_us"] / 1e6,
        refused,
        summary["p50_us"] / 1000,
        summary["p99_us"] / 1000,
        summary["max_us"] / 1000,
    )


def measure(server: subprocess.Popen[bytes], port: int, base: Path, seconds: float) -> WrkRun:
    try:
        wait_for(port, server)
        time.sleep(0.5)
        run_wrk(port, base / "warmup.jsonl", 1)  # certificate in memory, pages cached, threads up
        return run_wrk(port, base / "bodies.jsonl", seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)


def fresh_postgres(admin_url: str) -> str | None:
    """A new empty database on the server of ``admin_url`` (its URL), or None if none answers."""
    name = f"bench_webhook_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True, connect_timeout=3) as pg:
            pg.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        print(f"PostgreSQL: not measured ({error})")
        return None
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def stored(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def line(label: str, run: WrkRun, kept: int | None = None) -> str:
    return (
        f"{label:<28} {run.rate:8,.0f} req/s  p50 {run.p50_ms:5.1f} ms  p99 {run.p99_ms:5.1f} ms  "
        f"max {run.max_ms:6.1f} ms  refused {run.refused}" + ("" if kept is None else f"  stored {kept:,}")
    )


def side_by_side(seconds: float, warmup: int, postgres_admin: str) -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        seed_certificate(base / "certs", certificate_pem(now - timedelta(days=1), 30))
        (base / "warmup.jsonl").write_bytes(b"\n".join(signed_bodies(now, "w", warmup)) + b"\n")
        (base / "bodies.jsonl").write_bytes(b"\n".join(signed_bodies(now, "u", MESSAGES)) + b"\n")
        print(
            f"wrk, 1 thread, {CONNECTIONS} connections, {seconds:g} s each, {MESSAGES:,} distinct signed "
            f"messages in turn (after {warmup} others as warm-up); load average {os.getloadavg()[0]:.1f}"
        )
        print(f"stored: rows kept at the end, {MESSAGES + warmup:,} expected (each message once)")
        port = free_port()
        reference = measure(reference_server(base / "reference.db", base, port), port, base, seconds)
        print(line("reference (Starlette+SQLite)", reference, stored(base / "reference.db", "received")))
        port = free_port()
        server = noticedesk_server(f"sqlite:///{base / 'noticedesk.db'}", base, port, 1, quiet=True)
        sqlite = measure(server, port, base, seconds)
        print(line("noticedesk serve, SQLite", sqlite, stored(base / "noticedesk.db", "ses_events")))
        ratio = sqlite.rate / reference.rate
        met = ratio >= 0.5 and sqlite.p99_ms < 50 and sqlite.refused == 0
        print(
            f"ratio noticedesk/reference on SQLite: {ratio:.2f} (target >= 0.5, p99 < 50 ms, "
            f"nothing refused: {'met' if met else 'NOT met'})"
        )
        url = fresh_postgres(postgres_admin)
        if url is not None:
            try:
                port = free_port()
                postgres = measure(noticedesk_server(url, base, port, 1, quiet=True), port, base, seconds)
            finally:
                drop_postgres(postgres_admin, url)
            print(line("noticedesk serve, PostgreSQL", postgres))
            print(f"ratio noticedesk on PostgreSQL/reference: {postgres.rate / reference.rate:.2f}")
