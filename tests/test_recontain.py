"""Fixes follow the account as the latest diagnosis reads it: what comes back is contained again."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import boto3
from click.testing import CliRunner
from fixes_helpers import ACCOUNT, add_findings, apply_all, finding, make_case, remediation
from sqlalchemy import Engine, select, update

from noticedesk.aws.actions import propose
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.findings import Finding
from noticedesk.cases.queries import check_item, get_case
from noticedesk.cli import App, cli
from noticedesk.config import Config
from noticedesk.store.tables import case_events, cases

USER = "ci-deployer"


class Clock:
    """The time of the test, moved on by hand between the steps of the incident."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def later(self, minutes: int = 5) -> None:
        self.at += timedelta(minutes=minutes)


def _invoke(db: str, clock: Clock, *args: str) -> Any:
    app = App(db_url=db, config=Config(), now=clock)
    try:
        return CliRunner().invoke(cli, ["--db", db, *args], obj=app)
    finally:
        app.close()


def _key_status(key: str) -> str:
    [metadata] = boto3.client("iam").list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert metadata["AccessKeyId"] == key
    return str(metadata["Status"])


def _plan(db: str, clock: Clock, case_id: int) -> list[dict[str, Any]]:
    result = _invoke(db, clock, "fix", "plan", str(case_id), "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_a_reactivated_key_is_deactivated_again(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    """Deactivate, reactivate with another credential, diagnose: the plan is due again and applies."""
    db = str(sqlite_engine.url)
    iam = aws.client("iam")
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    case_id = make_case(sqlite_engine, now)
    with sqlite_engine.begin() as connection:
        connection.execute(update(cases).where(cases.c.id == case_id).values(facts={"access_key_ids": [key]}))
    clock = Clock(now)

    def diagnose() -> None:
        clock.later()
        result = _invoke(
            db, clock, "diagnose", str(case_id), "--checks", "key-owner", "--regions", "us-east-1"
        )
        assert result.exit_code == 0, result.output

    diagnose()
    [first] = [row for row in _plan(db, clock, case_id) if row["action"] == "access-key-deactivate"]
    clock.later()
    assert _invoke(db, clock, "fix", "apply", str(case_id), "--action", first["id"], "--yes").exit_code == 0
    assert _key_status(key) == "Inactive"

    # The intruder turns the key back on with another credential of theirs.
    intruder = boto3.client(
        "iam",
        aws_access_key_id="AKIAINTRUDER00000000",
        aws_secret_access_key="intruder",
        region_name="us-east-1",
    )
    intruder.update_access_key(UserName=USER, AccessKeyId=key, Status="Active")
    diagnose()

    [again] = [row for row in _plan(db, clock, case_id) if row["action"] == "access-key-deactivate"]
    assert again["id"] != first["id"] and again["status"] == "planned" and again["supersedes"] == first["id"]
    table = _invoke(db, clock, "fix", "plan", str(case_id))
    assert again["id"] in table.output and "✔ verified" not in table.output

    clock.later()
    result = _invoke(db, clock, "fix", "apply", str(case_id), "--action", first["id"], "--yes")
    assert result.exit_code == 0, result.output
    assert _key_status(key) == "Inactive"
    with sqlite_engine.connect() as connection:
        summaries = list(
            connection.execute(
                select(case_events.c.summary).where(case_events.c.case_id == case_id)
            ).scalars()
        )
    assert any(s.startswith(f"re-applied {again['id']}") and "found changed back" in s for s in summaries)
    assert any("found changed back" in s and s.startswith(f"planned {again['id']}") for s in summaries)

    # Reactivated once more: `fix apply --yes` (no names) contains it again too.
    intruder.update_access_key(UserName=USER, AccessKeyId=key, Status="Active")
    diagnose()
    clock.later()
    result = _invoke(db, clock, "fix", "apply", str(case_id), "--yes", "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    ran = [(row["status"], row["supersedes"]) for row in rows if row["action"] == "access-key-deactivate"]
    assert ran == [("applied", again["id"])]
    assert _key_status(key) == "Inactive"
    # A diagnosis that finds it as the fix left it plans nothing new.
    diagnose()
    assert [row["id"] for row in _plan(db, clock, case_id) if row["action"] == "access-key-deactivate"] == []


def test_an_image_made_public_again_is_made_private_again_and_its_step_reopens(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    ec2 = aws.client("ec2")
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="shop-image")["ImageId"]

    def share() -> None:
        ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})

    def public() -> bool:
        permissions = ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")
        return {"Group": "all"} in permissions["LaunchPermissions"]

    share()
    case_id = make_case(sqlite_engine, now, checklist=("make-images-private",))
    public_finding = finding("ami", image, image_id=image)
    add_findings(sqlite_engine, case_id, now, [public_finding])
    runner = remediation(sqlite_engine, aws, now + timedelta(minutes=1))
    ami = next(r.id for r in runner.plan(case_id) if r.action == "ami-make-private")
    [first] = apply_all(runner, case_id, action_ids=(ami,)).results
    assert first.status == "applied" and not public()
    check_item(sqlite_engine, case_id, "make-images-private", "tester", now)  # (moto lacks the region switch)
    # A diagnosis made before the fix still reads the image as public: nothing is due again.
    assert [r.status for r in runner.plan(case_id) if r.action == "ami-make-private"] == ["applied"]

    share()
    add_findings(sqlite_engine, case_id, now + timedelta(minutes=2), [public_finding])
    later = remediation(sqlite_engine, aws, now + timedelta(minutes=3))
    [again] = [r for r in later.plan(case_id) if r.action == "ami-make-private"]
    assert again.status == "planned" and again.supersedes == first.id
    assert get_case(sqlite_engine, case_id).checklist[0].done_by is None  # the step is open again
    [done] = apply_all(later, case_id, action_ids=(ami,)).results  # the old id names the new attempt
    assert done.id == again.id and done.status == "applied" and not public()


def _finding(check: str, resource_type: str, **data: Any) -> Finding:
    return Finding(
        check, "fail", "high", ACCOUNT, "us-east-1", "r-1", "detail", {"resource_type": resource_type, **data}
    )


def test_which_findings_show_a_fix_changed_back() -> None:
    """Only findings that read the state the fix changes say it was changed back."""
    key = {"access_key_id": "AKIAEXAMPLE000000001", "user_name": "u", "status": "Active"}
    running = {"instance_id": "i-1", "unexpected": True, "reasons": ["x"]}
    cases_ = [
        (_finding("key-owner", "access-key", **key), "access-key-deactivate", True),
        # The key's finding says nothing about the deny-everything policy of the user.
        (_finding("key-owner", "access-key", **key), "iam-user-revoke-sessions", False),
        (_finding("instances", "instance", state="running", **running), "instance-stop", True),
        (_finding("instances", "instance", state="stopped", **running), "instance-stop", False),
        (_finding("ses-account", "ses-account", sending_enabled=True), "ses-pause-sending", True),
        (
            _finding("public-ebs-snapshots", "ebs-snapshot", snapshot_id="snap-1"),
            "ebs-snapshot-make-private",
            True,
        ),
        # Blocking public access stops new sharing: a public image does not say it was turned off.
        (_finding("public-amis", "ami", image_id="ami-1"), "ami-block-public-access", False),
    ]
    for found, action, expected in cases_:
        plans = {
            plan.action: plan for plan in propose([found], datetime(2026, 11, 28), "account-compromised")
        }
        assert plans[action].changed_back is expected, (action, found.data)


def test_fix_plan_before_any_diagnosis_says_to_diagnose(sqlite_engine: Engine, now: datetime) -> None:
    db = str(sqlite_engine.url)
    case_id = make_case(sqlite_engine, now)
    wanted = f"run `noticedesk diagnose {case_id}` first"
    table = _invoke(db, Clock(now), "fix", "plan", str(case_id))
    assert table.exit_code != 0 and wanted in table.stderr and table.stdout == ""
    as_json = _invoke(db, Clock(now), "fix", "plan", str(case_id), "--json")
    assert as_json.exit_code != 0 and as_json.stdout == ""
    assert as_json.stderr.count("\n") == 1 and wanted in as_json.stderr
