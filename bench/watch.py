"""Benchmark: ``noticedesk watch`` from IMAP APPEND to the webhook, and its memory over 10,000 mails.

    .venv/bin/python bench/watch.py [--mails 200] [--rate 4] [--memory-mails 10000]

Everything is real and local: a Dovecot started for the run (tests/dovecot.py: its own config in
a temp folder, TLS on a loopback port), a webhook receiver on 127.0.0.1, and the watcher as the
command a user runs (``python -m noticedesk watch``, SQLite store) in a subprocess.

**Latency** (twice: with IMAP IDLE, then polling every 5 s, the baseline): ``--mails`` abuse
reports are APPENDed at ``--rate`` per second, open loop (one is due every 1/rate s whatever the
watcher does). Each mail's latency runs from the end of its APPEND to the receiver getting the
``case.opened`` notification of its case (a signed JSON webhook). Printed: p50, p99, max, and
polling's p99 over IDLE's. Target: p99 under 2 s with IDLE.

**Memory**: ``--memory-mails`` mails APPENDed up front (dated now: no deadline warning), one
watcher files them (no channel configured: their ``case.opened`` rows wait in the outbox, so what
is measured is reading and filing, not 10,000 HTTP sends); its resident set size
(``/proc/PID/status`` VmRSS) is read after every 1,000 filed. Printed: RSS at each step, and the
growth over the second half of the run. On SQLite the RSS includes SQLite's page cache, which
grows with the store up to its cap (64 MiB a connection, ``store/db.py``); the second run, on
PostgreSQL (``--postgres``), keeps the store out of the process, so what is left is the
watcher's own memory. Both read the same 10,000 mails (the second from where the first moved them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from noticedesk.store.db import make_engine
from noticedesk.store.tables import messages
from tests.dovecot import PASSWORD, Dovecot, running_dovecot
from tests.watch_helpers import abuse_report

_REF = re.compile(rb"\[18100(\d{6})-1\]")


class Receiver:
    """Records when the first notification about each case reference arrived (monotonic)."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.posts = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                at = time.monotonic()
                match = _REF.search(json.dumps(json.loads(body), ensure_ascii=False).encode())
                with receiver.lock:
                    receiver.posts += 1
                    if match:
                        receiver.first.setdefault(int(match.group(1)), at)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def config_file(
    folder: Path,
    dovecot: Dovecot,
    user: str,
    *,
    idle: bool,
    poll: float,
    read: str = "INBOX",
    filed: str = "Filed",
    notify: bool = True,
) -> Path:
    path = folder / f"{user}-{read}.toml"
    path.write_text(
        f"""
[watch]
poll_seconds = {poll}
clock_seconds = 60
batch_size = 25

[watch.imap]
host = "127.0.0.1"
port = {dovecot.imaps_port}
username = "{user}"
password_env = "BENCH_IMAP_PASSWORD"
ca_file = "{dovecot.ca_file}"
folder = "{read}"
processed_folder = "{filed}"
idle = {"true" if idle else "false"}
"""
        + (
            """
[notify.channels.default]
type = "webhook"
url = { env = "BENCH_HOOK_URL" }
secret = { env = "BENCH_HOOK_SECRET" }
"""
            if notify
            else ""
        )
    )
    return path


@contextmanager
def watcher(
    folder: Path, config: Path, receiver: Receiver, name: str, db_url: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "BENCH_IMAP_PASSWORD": PASSWORD,
        "BENCH_HOOK_URL": receiver.url,
        "BENCH_HOOK_SECRET": "whsec-bench",
    }
    db = db_url or f"sqlite:///{folder / f'{name}.db'}"
    command = [sys.executable, "-m", "noticedesk", "--db", db, "--config", str(config)]
    log = (folder / f"{name}.log").open("wb")
    process = subprocess.Popen([*command, "watch", "--log-format", "json"], env=env, stderr=log)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            print(f"  the {name} watcher did not stop within 60 s of SIGTERM: killed")
        log.close()


def wait_connected(folder: Path, name: str) -> None:
    deadline = time.monotonic() + 60
    while b"imap connected" not in (folder / f"{name}.log").read_bytes():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the watcher did not connect: {(folder / f'{name}.log').read_text()[-2000:]}")
        time.sleep(0.05)


def latency(
    folder: Path, dovecot: Dovecot, receiver: Receiver, *, idle: bool, mails: int, rate: float
) -> list[float]:
    user = dovecot.add_user()
    name = "idle" if idle else "poll"
    config = config_file(folder, dovecot, user, idle=idle, poll=5.0)
    first_number = 100_000 if idle else 200_000
    sent = datetime.now(UTC).replace(tzinfo=None)
    raws = [abuse_report(first_number + index, sent=sent) for index in range(mails)]
    appended: dict[int, float] = {}
    with watcher(folder, config, receiver, name):
        wait_connected(folder, name)
        time.sleep(1.0)  # in IDLE (or between polls) now
        client = dovecot.client(user)
        start = time.monotonic()
        for index, raw in enumerate(raws):
            due = start + index / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            client.append("INBOX", raw)
            appended[first_number + index] = time.monotonic()
        client.logout()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(number in receiver.first for number in appended):
            time.sleep(0.05)
    missing = [number for number in appended if number not in receiver.first]
    if missing:
        raise RuntimeError(f"{len(missing)} mail(s) never notified (first: {missing[:3]})")
    return sorted(receiver.first[number] - at for number, at in appended.items())


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def append_all(dovecot: Dovecot, mails: int) -> str:
    """A user whose INBOX holds ``mails`` notices dated now (no deadline warning)."""
    user = dovecot.add_user()
    sent = datetime.now(UTC).replace(tzinfo=None)
    client = dovecot.client(user)
    began = time.monotonic()
    for index in range(mails):
        client.append("INBOX", abuse_report(300_000 + index, sent=sent))
    client.logout()
    print(f"  {mails:,} mails appended in {time.monotonic() - began:.1f} s")
    return user


def memory(
    folder: Path,
    dovecot: Dovecot,
    receiver: Receiver,
    user: str,
    mails: int,
    db_url: str,
    read: str,
    filed: str,
) -> list[tuple[int, float]]:
    """One watcher files the ``mails`` of folder ``read`` (moving them to ``filed``) into ``db_url``."""
    config = config_file(folder, dovecot, user, idle=True, poll=5.0, read=read, filed=filed, notify=False)
    steps: list[tuple[int, float]] = []
    engine = make_engine(db_url)
    began = time.monotonic()
    with watcher(folder, config, receiver, f"memory-{read}", db_url) as process:
        next_step = 1000
        while next_step <= mails:
            time.sleep(0.2)
            try:
                with engine.connect() as connection:
                    count = connection.execute(select(func.count()).select_from(messages)).scalar_one()
            except SQLAlchemyError:  # the watcher is creating the store
                continue
            if count >= next_step:
                steps.append((count, rss_mib(process.pid)))
                next_step += 1000
            if process.poll() is not None:
                raise RuntimeError("the watcher stopped")
    engine.dispose()
    took = time.monotonic() - began
    print(f"  filed in {took:.1f} s ({mails / took:.0f} mails/s)")
    for count, rss in steps:
        print(f"  {count:>6,} filed: RSS {rss:6.1f} MiB")
    if len(steps) >= 4:
        half = steps[len(steps) // 2]
        growth = steps[-1][1] - half[1]
        per_thousand = growth / ((steps[-1][0] - half[0]) / 1000)
        print(
            f"  growth from {half[0]:,} to {steps[-1][0]:,} filed: {growth:+.1f} MiB "
            f"({per_thousand:+.2f} MiB per 1,000)"
        )
    return steps


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str | None]:
    """A fresh database on the PostgreSQL of ``admin_url`` (None when it does not answer); dropped after."""
    name = f"noticedesk_bench_watch_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as error:
        print(f"  PostgreSQL not used: {' '.join(str(error).split())[:200]}")
        admin.dispose()
        yield None
        return
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mails", type=int, default=200, help="mails per latency run (default 200)")
    parser.add_argument("--rate", type=float, default=4.0, help="APPENDs per second (default 4)")
    parser.add_argument("--memory-mails", type=int, default=10_000, help="mails of the memory run (0: skip)")
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL to make the second memory run's database on (skipped if it does not answer)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="noticedesk-bench-watch-") as name, running_dovecot() as dovecot:
        folder = Path(name)
        receiver = Receiver()
        try:
            results = {}
            for idle in (True, False):
                label = "IDLE" if idle else "polling every 5 s"
                values = latency(folder, dovecot, receiver, idle=idle, mails=args.mails, rate=args.rate)
                results[label] = values
                p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
                print(
                    f"APPEND → webhook, {label:>17}: {len(values)} mails at {args.rate:g}/s: "
                    f"p50 {p50:,.0f} ms, p99 {p99:,.0f} ms, "
                    f"max {max(values) * 1000:,.0f} ms, mean {statistics.mean(values) * 1000:,.0f} ms"
                )
            idle_p99 = percentile(results["IDLE"], 0.99)
            poll_p99 = percentile(results["polling every 5 s"], 0.99)
            verdict = "met" if idle_p99 < 2.0 else "NOT met"
            print(f"p99 polling / IDLE: {poll_p99 / idle_p99:.1f}x; target p99 < 2 s with IDLE: {verdict}")
            if args.memory_mails:
                print(f"memory of one watcher over {args.memory_mails:,} mails:")
                user = append_all(dovecot, args.memory_mails)
                print("  on SQLite (RSS includes SQLite's page cache, capped at 64 MiB):")
                sqlite_url = f"sqlite:///{folder / 'memory.db'}"
                memory(folder, dovecot, receiver, user, args.memory_mails, sqlite_url, "INBOX", "Filed")
                with postgres_database(args.postgres) as url:
                    if url is not None:
                        print("  on PostgreSQL (the store out of the process: the watcher's own memory):")
                        # The same mails, read again from where the first run moved them.
                        memory(folder, dovecot, receiver, user, args.memory_mails, url, "Filed", "Filed2")
        finally:
            receiver.close()


if __name__ == "__main__":
    main()
