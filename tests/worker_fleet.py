"""Worker processes against a moto server and PostgreSQL: the proof test's and bench/scale.py's harness.

A moto server (its own process, so it does not share the workers' interpreter) stands in for SQS
and S3; ``noticedesk worker --drain`` processes consume it; ``state`` reads back everything the
workers wrote, in an order-free form, so two runs can be compared whole.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from sqlalchemy import Engine, select

from noticedesk.store.tables import (
    cases,
    messages,
    outbox,
    queue_dead_letters,
    ses_event_keys,
    ses_events,
    ses_feedback_messages,
    ses_send_counts,
    ses_suppressions,
)
from tests.queue_helpers import abuse_mail, feedback_body, s3_event

BIN = Path(sys.executable).parent
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


MOTO_PIDS: dict[str, int] = {}
"""The moto server's process id by endpoint (benchmarks read its CPU time)."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server process on a free loopback port; its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.moto_server_quick", "-H", "127.0.0.1", "-p", str(port)],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **AWS_ENV},
    )
    endpoint = f"http://127.0.0.1:{port}"
    MOTO_PIDS[endpoint] = process.pid
    try:
        for _ in range(200):
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Queues:
    endpoint: str
    ses: str
    mail: str
    dead: str
    bucket: str = "inbound-mail"

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", **_keys())

    def waiting(self) -> int:
        total = 0
        for url in (self.ses, self.mail):
            attributes = self.client("sqs").get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            total += int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
        return total


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def make_queues(endpoint: str, prefix: str) -> Queues:
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", **_keys())
    urls = {
        name: sqs.create_queue(QueueName=f"{prefix}-{name}")["QueueUrl"] for name in ("ses", "mail", "dead")
    }
    queues = Queues(endpoint, urls["ses"], urls["mail"], urls["dead"])
    queues.client("s3").create_bucket(Bucket=queues.bucket)  # one bucket: runs compare their sources
    return queues


def fill(
    queues: Queues,
    notifications: int,
    mails: int,
    recipients: int = 1,
    threads: int = 4,
    visible_at: float | None = None,
) -> None:
    """``notifications`` SES notifications of ``recipients`` events each, and ``mails`` notice
    mails (S3 object + its event); with ``visible_at`` (a ``time.time()``), SES messages are
    delayed to become visible together then (whole seconds)."""
    ses_events = notifications

    def delay() -> dict[str, int]:
        return (
            {} if visible_at is None else {"DelaySeconds": max(0, min(900, round(visible_at - time.time())))}
        )

    def send_ses(start: int) -> None:
        sqs = queues.client("sqs")
        for first in range(start, ses_events, 10 * threads):
            entries = [
                {"Id": str(index), "MessageBody": feedback_body(index, recipients), **delay()}
                for index in range(first, min(first + 10, ses_events))
            ]
            sqs.send_message_batch(QueueUrl=queues.ses, Entries=entries)

    def send_mail(start: int) -> None:
        s3, sqs = queues.client("s3"), queues.client("sqs")
        for index in range(start, mails, threads):
            raw = abuse_mail(index)
            key = f"mail/{index:06d}.eml"
            s3.put_object(Bucket=queues.bucket, Key=key, Body=raw)
            sqs.send_message(QueueUrl=queues.mail, MessageBody=s3_event(queues.bucket, key, len(raw)))

    with ThreadPoolExecutor(threads * 2) as pool:
        jobs = [pool.submit(send_ses, 10 * n) for n in range(threads)]
        jobs += [pool.submit(send_mail, n) for n in range(threads)]
        for job in jobs:
            job.result()


def write_config(
    path: Path, queues: Queues, *, visibility: int = 5, wait: int = 1, webhook: str | None = None
) -> Path:
    """The workers' TOML; with ``webhook``, a channel every notification is posted to."""
    channel = ""
    if webhook is not None:
        (path.parent / f"{path.stem}-hook-url").write_text(webhook)
        (path.parent / f"{path.stem}-hook-key").write_text("whsec-fleet")
        channel = (
            "[notify.channels.default]\n"
            'type = "webhook"\n'
            f'url = {{ file = "{path.parent / f"{path.stem}-hook-url"}" }}\n'
            f'secret = {{ file = "{path.parent / f"{path.stem}-hook-key"}" }}\n'
        )
    path.write_text(
        channel + "[worker]\n"
        f'ses_queue_url = "{queues.ses}"\n'
        f'mail_queue_url = "{queues.mail}"\n'
        f'dead_letter_queue_url = "{queues.dead}"\n'
        f"visibility_timeout_seconds = {visibility}\n"
        f"wait_seconds = {wait}\n"
    )
    return path


@dataclass
class Fleet:
    """Worker processes started together; ``wait`` returns their exit codes."""

    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def kill(self, index: int) -> None:
        self.processes[index].send_signal(signal.SIGKILL)

    def wait(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        codes = []
        for process in self.processes:
            codes.append(process.wait(timeout=max(0.1, deadline - time.monotonic())))
        return codes

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def start_workers(count: int, db_url: str, config: Path | list[Path], endpoint: str, logs: Path) -> Fleet:
    """``count`` workers with ``--drain``; ``config`` one for all, or one each."""
    configs = config if isinstance(config, list) else [config] * count
    fleet = Fleet()
    env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL": endpoint}
    for _ in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(_, None)
    noticedesk = shutil.which("noticedesk", path=str(BIN)) or "noticedesk"
    for index in range(count):
        log = logs / f"worker-{index}.log"
        with log.open("wb") as stream:
            process = subprocess.Popen(
                [noticedesk, "--db", db_url, "--config", str(configs[index]), "worker", "--drain"],
                stdout=stream,
                stderr=subprocess.STDOUT,
                env=env,
            )
        fleet.processes.append(process)
        fleet.logs.append(log)
    return fleet


def count_rows(engine: Engine, table: Any) -> int:
    from sqlalchemy import func

    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def state(engine: Engine) -> dict[str, Any]:
    """Everything the workers wrote, without ids, times of processing or order."""
    with engine.connect() as connection:

        def rows(*columns: Any) -> list[tuple[Any, ...]]:
            return sorted((tuple(row) for row in connection.execute(select(*columns))), key=repr)

        case_keys = dict(connection.execute(select(cases.c.id, cases.c.case_key)).all())
        return {
            "feedback_messages": rows(
                ses_feedback_messages.c.message_key, ses_feedback_messages.c.event_count
            ),
            "events": rows(ses_events.c.dedupe_key, ses_events.c.event_type, ses_events.c.address),
            "event_keys": rows(ses_event_keys.c.event_key),
            "send_counts": rows(
                *(c for c in ses_send_counts.c if c.name != "id"),
            ),
            "suppressions": rows(
                ses_suppressions.c.address,
                ses_suppressions.c.suppressed,
                ses_suppressions.c.reason,
                ses_suppressions.c.cause,
                ses_suppressions.c.hard_bounce_count,
                ses_suppressions.c.soft_bounce_count,
                ses_suppressions.c.complaint_count,
            ),
            "messages": sorted(
                (key, source, case_keys.get(case_id))
                for key, source, case_id in connection.execute(
                    select(messages.c.dedupe_key, messages.c.source, messages.c.case_id)
                )
            ),
            "cases": rows(
                cases.c.case_key, cases.c.kind, cases.c.account_id, cases.c.case_ref, cases.c.status
            ),
            "outbox": sorted(
                (_by_case_key(key, case_id, case_keys), channel, status)
                for key, case_id, channel, status in connection.execute(
                    select(outbox.c.dedupe_key, outbox.c.case_id, outbox.c.channel, outbox.c.status)
                )
            ),
            "dead_letters": rows(queue_dead_letters.c.queue, queue_dead_letters.c.reason),
        }


def _by_case_key(dedupe_key: str, case_id: str | None, case_keys: dict[int, str]) -> str:
    """``case-opened:17`` → ``case-opened:<its case key>``: case ids depend on who filed first."""
    if case_id is None or not case_id.isdigit():
        return dedupe_key
    prefix, _, rest = dedupe_key.partition(f":{case_id}")
    return f"{prefix}:{case_keys[int(case_id)]}{rest}"
