"""Public data: own AMIs, EBS snapshots, RDS DB and cluster snapshots shared with everyone, and
the per-region block-public-access switches that stop it happening again."""

from __future__ import annotations

from typing import Any

from noticedesk.aws.checks import Check, Context, Gathered
from noticedesk.aws.findings import Finding
from noticedesk.aws.gather import GatherError
from noticedesk.aws.gather.ec2 import BlockPublicAccess, Images, Snapshots
from noticedesk.aws.gather.rds import DbSnapshots

KINDS = frozenset({"account-compromised"})


def judge_amis(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings = []
    for region, data in gathered.per_region("images"):
        if isinstance(data, GatherError):
            findings.append(check.error(gathered, region, "ami", None, data))
            continue
        assert isinstance(data, Images)
        for image in data.images:
            facts: dict[str, Any] = {"image_id": image.id, "name": image.name, "public": image.public}
            if image.public:
                text = f"AMI {image.id} ({image.name}) is public: anyone can launch it and read its disks"
                findings.append(check.fail(gathered, region, "ami", image.id, text, **facts))
            else:
                text = f"AMI {image.id} ({image.name}) is private"
                findings.append(check.passed(gathered, region, "ami", image.id, text, **facts))
    return findings


def judge_ebs_snapshots(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings = []
    for region, data in gathered.per_region("snapshots"):
        if isinstance(data, GatherError):
            findings.append(check.error(gathered, region, "ebs-snapshot", None, data))
            continue
        assert isinstance(data, Snapshots)
        for snapshot in data.snapshots:
            if isinstance(snapshot.shared_with, GatherError):
                findings.append(
                    check.error(gathered, region, "ebs-snapshot", snapshot.id, snapshot.shared_with)
                )
                continue
            facts: dict[str, Any] = {
                "snapshot_id": snapshot.id,
                "volume_id": snapshot.volume_id,
                "shared_with": list(snapshot.shared_with),
            }
            if "all" in snapshot.shared_with:
                text = f"Snapshot {snapshot.id} (of {snapshot.volume_id}) can be copied by any AWS account"
                findings.append(check.fail(gathered, region, "ebs-snapshot", snapshot.id, text, **facts))
            else:
                text = f"Snapshot {snapshot.id} is not public"
                findings.append(check.passed(gathered, region, "ebs-snapshot", snapshot.id, text, **facts))
    return findings


def judge_rds_snapshots(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings = []
    for region, data in gathered.per_region("db-snapshots"):
        if isinstance(data, GatherError):
            findings.append(check.error(gathered, region, "rds-snapshot", None, data))
            continue
        assert isinstance(data, DbSnapshots)
        for snapshot in data.snapshots:
            kind = "rds-cluster-snapshot" if snapshot.cluster else "rds-snapshot"
            if isinstance(snapshot.restorable_by, GatherError):
                findings.append(check.error(gathered, region, kind, snapshot.id, snapshot.restorable_by))
                continue
            facts: dict[str, Any] = {
                "snapshot_id": snapshot.id,
                "arn": snapshot.arn,
                "restore": list(snapshot.restorable_by),
            }
            if "all" in snapshot.restorable_by:
                text = f"RDS snapshot {snapshot.id} can be restored by any AWS account"
                findings.append(check.fail(gathered, region, kind, snapshot.id, text, **facts))
            else:
                text = f"RDS snapshot {snapshot.id} is not public"
                findings.append(check.passed(gathered, region, kind, snapshot.id, text, **facts))
    return findings


def judge_block_public_access(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings = []
    for region, data in gathered.per_region("block-public-access"):
        if isinstance(data, GatherError):
            findings.append(check.error(gathered, region, "region", region, data))
            continue
        assert isinstance(data, BlockPublicAccess)
        for what, state in (("snapshots", data.snapshots), ("images", data.images)):
            if isinstance(state, GatherError):
                findings.append(check.error(gathered, region, "region", f"{region}/{what}", state))
            elif state == "unblocked":
                findings.append(
                    check.fail(
                        gathered,
                        region,
                        "region",
                        f"{region}/{what}",
                        f"Block public access for EBS {what} is off in {region}",
                        setting=what,
                        state=state,
                    )
                )
            else:
                findings.append(
                    check.passed(
                        gathered,
                        region,
                        "region",
                        f"{region}/{what}",
                        f"Block public access for EBS {what} is {state} in {region}",
                        setting=what,
                        state=state,
                    )
                )
    return findings


CHECKS = (
    Check(
        "public-amis", "AMIs owned by the account that are public", "critical",
        "Anyone can launch a public AMI and read the keys, passwords and data baked into it.",
        "Make the AMI private (remove launch permission for all); then rotate secrets it contained.",
        ("ec2:DescribeImages",), ("images",), judge_amis, KINDS,
    ),
    Check(
        "public-ebs-snapshots", "EBS snapshots shared with all accounts", "critical",
        "Any AWS account can create a volume from a public snapshot and read it.",
        "Remove createVolumePermission for all; then rotate secrets the disk held.",
        ("ec2:DescribeSnapshots", "ec2:DescribeSnapshotAttribute"), ("snapshots",), judge_ebs_snapshots,
        KINDS,
    ),
    Check(
        "public-rds-snapshots", "RDS DB and cluster snapshots restorable by all accounts", "critical",
        "Any AWS account can restore the database from a public snapshot.",
        "Remove 'all' from the snapshot's restore attribute.",
        ("rds:DescribeDBSnapshots", "rds:DescribeDBSnapshotAttributes", "rds:DescribeDBClusterSnapshots",
         "rds:DescribeDBClusterSnapshotAttributes"),
        ("db-snapshots",), judge_rds_snapshots, KINDS,
    ),
    Check(
        "block-public-access", "Block public access for EBS snapshots and AMIs, per region", "medium",
        "Without it, one mistaken share makes a disk or image public again.",
        "Enable snapshot block public access (block-all-sharing) and image block public access.",
        ("ec2:GetSnapshotBlockPublicAccessState", "ec2:GetImageBlockPublicAccessState"),
        ("block-public-access",), judge_block_public_access, KINDS,
    ),
)  # fmt: skip
