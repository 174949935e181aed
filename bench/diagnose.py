"""Benchmark: a full diagnosis of a moto-server account with N AMIs, N snapshots and N access keys
spread over 4 regions, at the default concurrency and at concurrency 1.

    .venv/bin/python bench/diagnose.py [--n 500] [--latency-ms 50]

``--latency-ms L`` models a network-bound API: every HTTP request the diagnosis sends (retries
included) first waits L ms in the sending thread, like a round trip to AWS would. The moto server
still spends its own CPU on each call, one request at a time, so the model is "L ms of network
plus moto's CPU time", and the speed-up it shows is bounded by that CPU queue.

The moto server runs as one process: its accounts live in that process's memory, so several
worker processes would each hold a different (mostly empty) account.

Block-public-access and the SES checks are left out: moto lacks those APIs and botocore's retries
on its HTTP 500 answers would measure back-off sleeps, not NoticeDesk.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from noticedesk.aws.checks.catalogue import CATALOGUE
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import run_diagnosis
from noticedesk.config import DiagnoseConfig

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")
ACCOUNT = "111122223333"
SKIPPED = {"block-public-access", "ses-account", "ses-reputation", "ses-feedback"}


@dataclass
class SlowNetworkFactory(ClientFactory):
    """A ClientFactory whose sessions wait ``latency_ms`` before every HTTP request they send.

    The wait is a ``before-send`` handler on each boto3 session the factory uses (the base one and
    any assumed-role one), so every client made from them, STS included, inherits it.
    """

    latency_ms: float = 0.0
    sends: int = field(default=0, init=False)
    """HTTP requests sent (retries included); each one waited ``latency_ms``."""

    def _wait(self, **_: Any) -> None:
        with self._lock:
            self.sends += 1
        time.sleep(self.latency_ms / 1000)

    def _slowed(self, session: boto3.Session) -> boto3.Session:
        session.events.register("before-send", self._wait, unique_id="bench-latency")
        return session

    def _base(self) -> boto3.Session:
        return self._slowed(super()._base())

    def session(self, account_id: str | None = None) -> boto3.Session:
        return self._slowed(super().session(account_id))


def seed(factory: ClientFactory, n: int) -> None:
    iam = factory.client("iam", None, ACCOUNT)
    for index in range(n // 2):
        iam.create_user(UserName=f"user-{index}")
        for _ in range(2):
            iam.create_access_key(UserName=f"user-{index}")
    per_region = n // len(REGIONS)
    for region in REGIONS:
        ec2 = factory.client("ec2", region, ACCOUNT)
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0][
            "InstanceId"
        ]
        volume = ec2.create_volume(AvailabilityZone=f"{region}a", Size=8)["VolumeId"]
        for index in range(per_region):
            image = ec2.create_image(InstanceId=instance, Name=f"image-{index}")["ImageId"]
            snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
            if index % 50 == 0:
                ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
                ec2.modify_snapshot_attribute(
                    SnapshotId=snapshot,
                    Attribute="createVolumePermission",
                    OperationType="add",
                    GroupNames=["all"],
                )


def measure(concurrency: int, latency_ms: float) -> tuple[float, int, int, int]:
    factory = SlowNetworkFactory(role_name="noticedesk", latency_ms=latency_ms)
    checks = tuple(check for check in CATALOGUE if check.id not in SKIPPED and check.needs_facts is None)
    started = time.perf_counter()
    diagnosis = run_diagnosis(
        factory, checks, datetime.now(UTC), account_id=ACCOUNT, regions=REGIONS,
        settings=DiagnoseConfig(), concurrency=concurrency,
    )  # fmt: skip
    return time.perf_counter() - started, diagnosis.calls, factory.sends, len(diagnosis.findings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=DiagnoseConfig().concurrency)
    parser.add_argument(
        "--latency-ms", type=float, default=0.0,
        help="simulated network round trip added to every HTTP request of the diagnosis (default 0)",
    )  # fmt: skip
    args = parser.parse_args()
    with moto_server():
        run(args)


@contextmanager
def moto_server() -> Iterator[None]:
    """A moto server in its own process (it does not share the benchmark's GIL), the environment
    pointed at it while the block runs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    try:
        yield
    finally:
        server.terminate()
        server.wait()


def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    seed(ClientFactory(role_name="noticedesk"), args.n)
    print(f"seeded N={args.n} (AMIs, snapshots, keys) over {len(REGIONS)} regions in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    if args.latency_ms:
        print(f"latency model: each HTTP request of the diagnosis (retries included) waits "
              f"{args.latency_ms:g} ms before it is sent, plus moto's own time per call")  # fmt: skip
    else:
        print("latency model: none (moto server on localhost; a call costs moto's CPU time)")
    results = {}
    for concurrency in (args.concurrency, 1):
        results[concurrency] = wall, calls, sends, found = measure(concurrency, args.latency_ms)
        print(f"concurrency {concurrency:>2}: {wall:6.2f} s, {calls} API calls "
              f"({sends} HTTP requests), {found} findings")  # fmt: skip
    ratio = results[1][0] / results[args.concurrency][0]
    print(f"speed-up (concurrency 1 / concurrency {args.concurrency}): {ratio:.1f}x")


if __name__ == "__main__":
    main()
