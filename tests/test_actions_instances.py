"""Instances against moto: isolate (snapshot first, rule-less group), stop, terminate only when named."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fixes_helpers import add_findings, apply_all, finding, make_case, remediation
from sqlalchemy import Engine

from noticedesk.aws.actions.instances import QUARANTINE_GROUP
from noticedesk.aws.clients import ClientFactory

REGION = "ap-northeast-1"


@pytest.fixture
def web(aws: ClientFactory) -> dict[str, Any]:
    ec2 = aws.client("ec2", REGION)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                       "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )  # fmt: skip
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SecurityGroupIds=[group],
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
    )["Instances"][0]  # fmt: skip
    return {"ec2": ec2, "vpc": vpc, "group": group, "instance": instance["InstanceId"]}


def _instance_groups(ec2: Any, instance: str) -> list[str]:
    """Read through DescribeInstances, the API the action verifies with (moto merges interface groups)."""
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return sorted(group["GroupId"] for group in described["SecurityGroups"])


def test_isolate_snapshots_first_then_swaps_to_a_group_with_no_rules_and_undo_swaps_back(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, web: dict[str, Any]
) -> None:
    ec2, instance = web["ec2"], web["instance"]
    case_id = make_case(sqlite_engine, now, kind="abuse-report")
    add_findings(sqlite_engine, case_id, now, [finding("instance", instance, REGION, instance_id=instance)])
    before_groups = _instance_groups(ec2, instance)
    assert before_groups == [web["group"]]
    runner = remediation(sqlite_engine, aws, now)
    report = apply_all(runner, case_id)
    [isolate] = report.results
    assert (isolate.action, isolate.status, isolate.verified) == ("instance-isolate", "applied", True), (
        isolate.error,
        isolate.before,
        isolate.after,
    )
    operations = [call.operation for call in isolate.plan.calls]
    assert operations[0] == "CreateSnapshot"
    assert operations.index("CreateSnapshot") < operations.index("ModifyInstanceAttribute")
    quarantine = ec2.describe_security_groups(
        Filters=[
            {"Name": "group-name", "Values": [QUARANTINE_GROUP]},
            {"Name": "vpc-id", "Values": [web["vpc"]]},
        ]
    )["SecurityGroups"]
    assert len(quarantine) == 1
    assert quarantine[0]["IpPermissions"] == [] and quarantine[0]["IpPermissionsEgress"] == []
    assert _instance_groups(ec2, instance) == [quarantine[0]["GroupId"]]
    evidence = ec2.describe_snapshots(
        Filters=[{"Name": "tag:noticedesk:isolated-instance", "Values": [instance]}]
    )
    assert len(evidence["Snapshots"]) == 1
    state = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "running"  # isolated, not stopped

    undone, _ = runner.undo(isolate.id, confirmed=True, requested_by="tester")
    assert undone.status == "undone"
    assert _instance_groups(ec2, instance) == before_groups


def test_isolating_a_second_instance_reuses_the_quarantine_group(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, web: dict[str, Any]
) -> None:
    ec2 = web["ec2"]
    other = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    case_id = make_case(sqlite_engine, now, kind="abuse-report")
    add_findings(
        sqlite_engine,
        case_id,
        now,
        [finding("instance", i, REGION, instance_id=i) for i in (web["instance"], other)],
    )
    report = apply_all(remediation(sqlite_engine, aws, now), case_id)
    assert [r.status for r in report.results] == ["applied", "applied"]
    assert [c.operation for c in report.results[1].plan.calls].count("CreateSecurityGroup") == 0
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [QUARANTINE_GROUP]}])
    assert len(groups["SecurityGroups"]) == 1


def test_unexpected_instance_is_stopped_and_terminated_only_when_named(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime, web: dict[str, Any]
) -> None:
    ec2, instance = web["ec2"], web["instance"]
    case_id = make_case(sqlite_engine, now)
    add_findings(
        sqlite_engine,
        case_id,
        now,
        [finding("instance", instance, REGION, instance_id=instance, unexpected=True)],
    )
    runner = remediation(sqlite_engine, aws, now)

    def state() -> str:
        described = ec2.describe_instances(InstanceIds=[instance])
        return str(described["Reservations"][0]["Instances"][0]["State"]["Name"])

    [stop] = apply_all(runner, case_id).results
    assert (stop.action, stop.status) == ("instance-stop", "applied")
    assert state() == "stopped"
    undone, _ = runner.undo(stop.id, confirmed=True, requested_by="tester")
    assert undone.status == "undone" and state() == "running"

    terminate = next(r.id for r in runner.plan(case_id) if r.action == "instance-terminate")
    assert apply_all(runner, case_id).results[0].action == "instance-stop"  # the default run never terminates
    [done] = apply_all(runner, case_id, action_ids=(terminate,)).results
    assert done.status == "applied" and state() == "terminated"
