"""Public AMIs and snapshots against moto; block-public-access with Stubber (moto lacks it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from fixes_helpers import (
    ACCOUNT,
    add_findings,
    apply_all,
    finding,
    make_case,
    public_rds_snapshot,
    remediation,
)
from sqlalchemy import Engine

from noticedesk.aws.clients import ClientFactory

REGION = "us-east-1"


def _groups(permissions: list[dict[str, str]]) -> list[str]:
    return [p["Group"] for p in permissions if "Group" in p]


@pytest.fixture
def public_things(aws: ClientFactory) -> dict[str, Any]:
    ec2, rds = aws.client("ec2", REGION), aws.client("rds", REGION)
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    public_rds_snapshot(rds)  # instance "shop", snapshot "shop-snap" restorable by all
    rds.create_db_cluster(
        DBClusterIdentifier="orders", Engine="aurora-postgresql", MasterUsername="admin",
        MasterUserPassword="password123",
    )  # fmt: skip
    rds.create_db_cluster_snapshot(DBClusterIdentifier="orders", DBClusterSnapshotIdentifier="orders-snap")
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="orders-snap", AttributeName="restore", ValuesToAdd=["all"]
    )
    return {"ec2": ec2, "rds": rds, "image": image, "snapshot": snapshot}


def _public(things: dict[str, Any]) -> dict[str, list[str]]:
    ec2, rds = things["ec2"], things["rds"]
    image = ec2.describe_image_attribute(ImageId=things["image"], Attribute="launchPermission")
    snapshot = ec2.describe_snapshot_attribute(
        SnapshotId=things["snapshot"], Attribute="createVolumePermission"
    )
    db = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="shop-snap")["DBSnapshotAttributesResult"]
    cluster = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="orders-snap")[
        "DBClusterSnapshotAttributesResult"
    ]
    return {
        "ami": _groups(image["LaunchPermissions"]),
        "ebs": _groups(snapshot["CreateVolumePermissions"]),
        "rds": db["DBSnapshotAttributes"][0]["AttributeValues"],
        "cluster": cluster["DBClusterSnapshotAttributes"][0]["AttributeValues"],
    }


def test_make_private_then_undo_for_ami_ebs_rds_and_cluster_snapshots(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, public_things: dict[str, Any]
) -> None:
    case_id = make_case(sqlite_engine, now)
    add_findings(
        sqlite_engine,
        case_id,
        now,
        [
            finding("ami", public_things["image"], image_id=public_things["image"]),
            finding("ebs-snapshot", public_things["snapshot"], snapshot_id=public_things["snapshot"]),
            finding("rds-snapshot", "shop-snap", snapshot_id="shop-snap"),
            finding("rds-cluster-snapshot", "orders-snap", snapshot_id="orders-snap"),
        ],
    )
    everything_public = {"ami": ["all"], "ebs": ["all"], "rds": ["all"], "cluster": ["all"]}
    assert _public(public_things) == everything_public
    runner = remediation(sqlite_engine, aws, now)
    chosen = tuple(r.id for r in runner.plan(case_id) if "block-public-access" not in r.action)
    report = apply_all(runner, case_id, action_ids=chosen)
    assert [(r.action, r.status, r.verified) for r in report.results] == [
        ("ami-make-private", "applied", True),
        ("ebs-snapshot-make-private", "applied", True),
        ("rds-snapshot-make-private", "applied", True),
        ("rds-cluster-snapshot-make-private", "applied", True),
    ]
    assert _public(public_things) == {"ami": [], "ebs": [], "rds": [], "cluster": []}
    assert report.results[1].before == {"create_volume_groups": ["all"]}
    assert report.results[1].after == {"create_volume_groups": []}
    for record in report.results:
        undone, _ = runner.undo(record.id, confirmed=True, requested_by="tester")
        assert undone.status == "undone"
    assert _public(public_things) == everything_public


def _stubbed_ec2(aws: ClientFactory) -> tuple[Any, Stubber]:
    client = aws.client("ec2", REGION, ACCOUNT)  # the very client the action will get
    return client, Stubber(client)


@pytest.mark.parametrize(
    ("setting", "get", "key", "enable", "enable_params", "wanted"),
    [
        (
            "images",
            "get_image_block_public_access_state",
            "ImageBlockPublicAccessState",
            "enable_image_block_public_access",
            {"ImageBlockPublicAccessState": "block-new-sharing"},
            "block-new-sharing",
        ),
        (
            "snapshots",
            "get_snapshot_block_public_access_state",
            "State",
            "enable_snapshot_block_public_access",
            {"State": "block-all-sharing"},
            "block-all-sharing",
        ),
    ],
)
def test_block_public_access_request_shape_and_undo(
    aws: ClientFactory,
    sqlite_engine: Engine,
    now: datetime,
    setting: str,
    get: str,
    key: str,
    enable: str,
    enable_params: dict[str, str],
    wanted: str,
) -> None:
    case_id = make_case(sqlite_engine, now)
    add_findings(
        sqlite_engine,
        case_id,
        now,
        [finding("region", f"{REGION}/{setting}", setting=setting, state="unblocked")],
    )
    _client, stubber = _stubbed_ec2(aws)
    stubber.add_response(get, {key: "unblocked"}, {})
    stubber.add_response(enable, {key: wanted}, enable_params)
    stubber.add_response(get, {key: wanted}, {})
    disable = enable.replace("enable", "disable")
    stubber.add_response(get, {key: wanted}, {})
    stubber.add_response(disable, {key: "unblocked"}, {})
    stubber.add_response(get, {key: "unblocked"}, {})
    runner = remediation(sqlite_engine, aws, now)
    with stubber:
        result = apply_all(runner, case_id).results
        assert [(r.action, r.status, r.before, r.after) for r in result] == [
            (result[0].action, "applied", {"state": "unblocked"}, {"state": wanted})
        ]
        undone, _ = runner.undo(result[0].id, confirmed=True, requested_by="tester")
        assert undone.status == "undone"
    stubber.assert_no_pending_responses()


def test_snapshot_block_public_access_undo_puts_back_the_earlier_mode(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id = make_case(sqlite_engine, now)
    add_findings(sqlite_engine, case_id, now, [finding("region", f"{REGION}/snapshots", setting="snapshots")])
    _client, stubber = _stubbed_ec2(aws)
    stubber.add_response("get_snapshot_block_public_access_state", {"State": "block-new-sharing"}, {})
    stubber.add_response(
        "enable_snapshot_block_public_access", {"State": "block-all-sharing"}, {"State": "block-all-sharing"}
    )
    stubber.add_response("get_snapshot_block_public_access_state", {"State": "block-all-sharing"}, {})
    with stubber:
        result = apply_all(remediation(sqlite_engine, aws, now), case_id).results[0]
    assert [call.to_json() for call in result.plan.undo] == [
        {
            "service": "ec2",
            "operation": "EnableSnapshotBlockPublicAccess",
            "region": REGION,
            "params": {"State": "block-new-sharing"},
        }
    ]


def test_a_call_the_endpoint_cannot_answer_fails_the_action_and_the_run_goes_on_to_report(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, public_things: dict[str, str]
) -> None:
    """moto lacks block-public-access: in process it raises NotImplementedError, as a server it answers
    an HTML page botocore cannot parse. Either way the action fails, recorded, and nothing crashes."""
    case_id = make_case(sqlite_engine, now)
    image = public_things["image"]
    add_findings(sqlite_engine, case_id, now, [finding("ami", image, REGION, image_id=image)])
    report = apply_all(remediation(sqlite_engine, aws, now), case_id, keep_going=True)
    assert [(r.action, r.status) for r in report.results] == [
        ("ami-make-private", "applied"),
        ("ami-block-public-access", "failed"),
    ]
    assert "could not read the resource before acting" in (report.results[1].error or "")
