"""The real CLI against the moto server: plan → dry run (nothing changes) → apply → verify → undo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from fixes_helpers import add_findings, finding, make_case, public_rds_snapshot

from noticedesk.aws.actions import ACTIONS
from noticedesk.cases.queries import get_case
from noticedesk.cli import cli
from noticedesk.cli.iam_policy import policy_fix
from noticedesk.store.db import open_store

USER = "ci-deployer"
TOKYO = "ap-northeast-1"


@pytest.fixture
def moto_env(aws_endpoint: str) -> dict[str, str]:
    """The environment of a CLI run in a subprocess: the fake AWS server as its endpoint."""
    return dict(os.environ)


def _seed() -> dict[str, str]:
    iam = boto3.client("iam")
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    ec2 = boto3.client("ec2", region_name=TOKYO)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, SecurityGroupIds=[web])
    rds = boto3.client("rds", region_name="us-east-1")
    public_rds_snapshot(rds)  # instance "shop", snapshot "shop-snap" restorable by all
    return {"key": key, "instance": instance["Instances"][0]["InstanceId"]}


def _state(seeded: dict[str, str]) -> dict[str, Any]:
    iam = boto3.client("iam")
    described = boto3.client("ec2", region_name=TOKYO).describe_instances(InstanceIds=[seeded["instance"]])
    instance = described["Reservations"][0]["Instances"][0]
    attributes = boto3.client("rds", region_name="us-east-1").describe_db_snapshot_attributes(
        DBSnapshotIdentifier="shop-snap"
    )["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
    return {
        "keys": {
            k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
        },
        "inline": sorted(iam.list_user_policies(UserName=USER)["PolicyNames"]),
        "instance_groups": sorted(g["GroupId"] for g in instance["SecurityGroups"]),
        "instance_state": instance["State"]["Name"],
        "restore": attributes[0]["AttributeValues"],
    }


def _run(env: dict[str, str], db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noticedesk", "--db", db, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plan_dry_run_apply_verify_undo_end_to_end(
    moto_env: dict[str, str], tmp_path: Path, now: datetime
) -> None:
    seeded = _seed()
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    engine = open_store(db)
    case_id = make_case(engine, now)
    key = seeded["key"]
    add_findings(
        engine,
        case_id,
        now,
        [
            finding("access-key", key, None, access_key_id=key, user_name=USER),
            finding("iam-user", USER, None, user_name=USER, created=now.isoformat()),  # optional quarantine
            finding("instance", seeded["instance"], TOKYO, instance_id=seeded["instance"]),
            finding("rds-snapshot", "shop-snap", snapshot_id="shop-snap"),
        ],
    )
    engine.dispose()
    initial = _state(seeded)

    planned = _run(moto_env, db, "fix", "plan", str(case_id), "--json")
    assert planned.returncode == 0, planned.stderr
    plan = [json.loads(line) for line in planned.stdout.splitlines()]
    assert all({"id", "action", "resource_id", "region", "calls", "undo"} <= set(item) for item in plan)
    assert key not in planned.stdout and f"{key[:4]}…{key[-4:]}" in planned.stdout
    defaults = [item["action"] for item in plan if item["default"]]
    assert defaults == [
        "access-key-deactivate",
        "iam-user-revoke-sessions",
        "rds-snapshot-make-private",
        "instance-isolate",
    ]

    dry = _run(moto_env, db, "fix", "apply", str(case_id))
    assert dry.returncode == 0, dry.stderr
    assert "Nothing was changed" in dry.stdout
    assert _state(seeded) == initial

    applied = _run(moto_env, db, "fix", "apply", str(case_id), "--yes", "--by", "e2e", "--json")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    results = [json.loads(line) for line in applied.stdout.splitlines()]
    assert [(r["action"], r["status"], r["verified"]) for r in results] == [
        (a, "applied", True) for a in defaults
    ]
    after = _state(seeded)
    assert after["keys"] == {key: "Inactive"}
    assert after["inline"] == ["NoticeDeskRevokeOlderSessions"]  # the quarantine is optional: not applied
    assert after["instance_groups"] != initial["instance_groups"] and len(after["instance_groups"]) == 1
    assert after["instance_state"] == "running"
    assert after["restore"] == []

    engine = open_store(db)
    timeline = get_case(engine, case_id).to_json(now)["timeline"]
    engine.dispose()
    assert [e["type"] for e in timeline].count("action-applied") == len(defaults)
    assert {e["actor"] for e in timeline if e["type"] == "action-applied"} == {"e2e"}
    assert key not in json.dumps(timeline, ensure_ascii=False)

    undone = _run(moto_env, db, "fix", "undo", *(r["id"] for r in results), "--yes", "--by", "e2e")
    assert undone.returncode == 0, undone.stderr + undone.stdout
    assert undone.stdout.count("undone and verified") == len(results)
    assert _state(seeded) == initial


def test_unverified_case_exits_2_with_one_line(
    moto_env: dict[str, str], tmp_path: Path, now: datetime
) -> None:
    db = f"sqlite:///{tmp_path / 'gate.db'}"
    engine = open_store(db)
    case_id = make_case(engine, now, authenticity="unverified")
    engine.dispose()
    result = CliRunner().invoke(cli, ["--db", db, "fix", "apply", str(case_id), "--yes"])
    assert result.exit_code == 2
    assert result.output.startswith("error: case") and "--i-have-verified-this-notice" in result.output


def test_actions_catalogue_and_policy_commands() -> None:
    listed = CliRunner().invoke(cli, ["actions", "--json"])
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [row["name"] for row in rows] == [action.name for action in ACTIONS]
    assert all(row["permissions"] and row["undo"] for row in rows)
    policy = json.loads(CliRunner().invoke(policy_fix, []).output)
    assert (
        policy["Statement"][0]["Effect"] == "Allow"
        and "iam:UpdateAccessKey" in policy["Statement"][0]["Action"]
    )


def test_the_override_line_says_recorded_only_when_something_is_applied() -> None:
    from rich.console import Console

    from noticedesk.cli import App
    from noticedesk.cli.fix import print_report
    from noticedesk.config import Config
    from noticedesk.remediation.runner import RunReport

    override = {"by": "sato", "reason": "notice not verified", "authenticity": "unverified"}
    lines = {}
    for dry_run in (True, False):
        app = App(db_url="sqlite://", config=Config(), console=Console(width=200, record=True))
        print_report(app, RunReport(case_id=1, dry_run=dry_run, selected=[], override=override))
        lines[dry_run] = app.console.export_text().splitlines()[0]
    assert lines[True] == (
        "Notice not verified: with --yes, this would apply on the word of sato, "
        "and the override would be recorded."
    )
    assert lines[False] == "Notice not verified: applying on the word of sato; the override is recorded."
