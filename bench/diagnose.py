"""Benchmark: a full diagnosis of a moto-server account with N AMIs, N snapshots and N access keys
spread over 4 regions, at the default concurrency and at concurrency 1.

    .venv/bin/python bench/diagnose.py [--n 500]

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
from datetime import UTC, datetime

from noticedesk.aws.checks.catalogue import CATALOGUE
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import run_diagnosis
from noticedesk.config import DiagnoseConfig

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")
ACCOUNT = "111122223333"
SKIPPED = {"block-public-access", "ses-account", "ses-reputation", "ses-feedback"}


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


def measure(concurrency: int) -> tuple[float, int, int]:
    factory = ClientFactory(role_name="noticedesk")
    checks = tuple(check for check in CATALOGUE if check.id not in SKIPPED and check.needs_facts is None)
    started = time.perf_counter()
    diagnosis = run_diagnosis(
        factory, checks, datetime.now(UTC), account_id=ACCOUNT, regions=REGIONS,
        settings=DiagnoseConfig(), concurrency=concurrency,
    )  # fmt: skip
    return time.perf_counter() - started, diagnosis.calls, len(diagnosis.findings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=DiagnoseConfig().concurrency)
    args = parser.parse_args()
    # The server runs in its own process so that it does not share the benchmark's GIL.
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
        started = time.perf_counter()
        seed(ClientFactory(role_name="noticedesk"), args.n)
        print(f"seeded N={args.n} (AMIs, snapshots, keys) over {len(REGIONS)} regions in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        fast, calls, found = measure(args.concurrency)
        print(f"concurrency {args.concurrency:>2}: {fast:6.2f} s, {calls} API calls, {found} findings")
        slow, calls_1, found_1 = measure(1)
        print(f"concurrency  1: {slow:6.2f} s, {calls_1} API calls, {found_1} findings")
        print(f"speed-up: {slow / fast:.1f}x")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
