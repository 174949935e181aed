"""Fixes for public images and snapshots: AMIs, EBS snapshots, RDS snapshots, block-public-access."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from noticedesk.aws.actions.base import (
    Action,
    Call,
    Clients,
    PlannedAction,
    State,
    Triggers,
    planned,
    read_call,
)
from noticedesk.aws.findings import Finding

ALL = "all"


class _Ec2MakePrivate(Action):
    """Shared shape of AMIs and EBS snapshots: one permission attribute without the group `all`."""

    id_key: ClassVar[str]
    """``data`` key of the finding that names the resource."""
    noun: ClassVar[str]
    describe: ClassVar[str]
    id_param: ClassVar[str]
    attribute: ClassVar[str]
    permissions_key: ClassVar[str]
    """Key of the Describe…Attribute answer that lists the permissions."""
    state_key: ClassVar[str]
    checklist_items = ("make-images-private",)

    def change(self, resource: str, region: str | None, verb: str) -> Call:
        raise NotImplementedError

    def shows_unfixed(self, finding: Finding) -> bool:
        return True  # its checks fail only for a resource shared with every account

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        resource = str(finding.data.get(self.id_key) or finding.resource_id)
        return planned(
            self,
            finding,
            resource,
            f"make {self.noun} {resource} private",
            [self.change(resource, finding.region, "remove")],
            [self.change(resource, finding.region, "add")],
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        attribute = read_call(
            clients,
            "ec2",
            self.describe,
            planned.region,
            planned.account_id,
            **{self.id_param: planned.resource_id, "Attribute": self.attribute},
        )
        groups = sorted(p["Group"] for p in attribute.get(self.permissions_key, []) if "Group" in p)
        return {self.state_key: groups}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return ALL not in state[self.state_key]


class AmiMakePrivate(_Ec2MakePrivate):
    name = "ami-make-private"
    resource_type = "ami"
    title = "Make a public AMI private (remove `all` from its launch permissions)"
    permissions = ("ec2:ModifyImageAttribute", "ec2:DescribeImageAttribute")
    undo_note = "ModifyImageAttribute adding `all` back makes the AMI public again."
    triggers: ClassVar[Triggers] = {"public-amis": True}
    id_key = "image_id"
    noun = "AMI"
    describe = "DescribeImageAttribute"
    id_param = "ImageId"
    attribute = "launchPermission"
    permissions_key = "LaunchPermissions"
    state_key = "launch_permission_groups"

    def change(self, resource: str, region: str | None, verb: str) -> Call:
        return Call(
            "ec2",
            "ModifyImageAttribute",
            region,
            {"ImageId": resource, "LaunchPermission": {verb.capitalize(): [{"Group": ALL}]}},
        )


class EbsSnapshotMakePrivate(_Ec2MakePrivate):
    name = "ebs-snapshot-make-private"
    resource_type = "ebs-snapshot"
    title = "Make a public EBS snapshot private (remove `all` from createVolumePermission)"
    permissions = ("ec2:ModifySnapshotAttribute", "ec2:DescribeSnapshotAttribute")
    undo_note = "ModifySnapshotAttribute OperationType=add GroupNames=[all] makes it public again."
    triggers: ClassVar[Triggers] = {"public-ebs-snapshots": True}
    id_key = "snapshot_id"
    noun = "EBS snapshot"
    describe = "DescribeSnapshotAttribute"
    id_param = "SnapshotId"
    attribute = "createVolumePermission"
    permissions_key = "CreateVolumePermissions"
    state_key = "create_volume_groups"

    def change(self, resource: str, region: str | None, verb: str) -> Call:
        # The OperationType form: AWS accepts both, moto silently ignores CreateVolumePermission={...}.
        return Call(
            "ec2",
            "ModifySnapshotAttribute",
            region,
            {
                "SnapshotId": resource,
                "Attribute": "createVolumePermission",
                "OperationType": verb,
                "GroupNames": [ALL],
            },
        )


class _RdsSnapshotMakePrivate(Action):
    """Shared shape of DB and cluster snapshots: the `restore` attribute without `all`."""

    noun: ClassVar[str]
    operation: ClassVar[str]
    describe: ClassVar[str]
    id_param: ClassVar[str]
    result_key: ClassVar[str]
    undo_note = "Modify…SnapshotAttribute ValuesToAdd=[all] makes the snapshot public again."
    triggers: ClassVar[Triggers] = {"public-rds-snapshots": True}
    checklist_items = ("make-images-private",)

    def shows_unfixed(self, finding: Finding) -> bool:
        return True  # its check fails only for a snapshot restorable by every account

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        snapshot = str(finding.data.get("snapshot_id") or finding.resource_id)

        def change(values: str) -> Call:
            return Call(
                "rds",
                self.operation,
                finding.region,
                {self.id_param: snapshot, "AttributeName": "restore", values: [ALL]},
            )

        return planned(
            self,
            finding,
            snapshot,
            f"make {self.noun} {snapshot} private",
            [change("ValuesToRemove")],
            [change("ValuesToAdd")],
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        result: dict[str, Any] = read_call(
            clients,
            "rds",
            self.describe,
            planned.region,
            planned.account_id,
            **{self.id_param: planned.resource_id},
        )[self.result_key]
        values = [
            value
            for attribute in result.get(self.result_key.removesuffix("Result"), [])
            if attribute["AttributeName"] == "restore"
            for value in attribute.get("AttributeValues", [])
        ]
        return {"restore": sorted(values)}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return ALL not in state["restore"]


class RdsSnapshotMakePrivate(_RdsSnapshotMakePrivate):
    name = "rds-snapshot-make-private"
    resource_type = "rds-snapshot"
    noun = "RDS snapshot"
    title = "Make a public RDS DB snapshot private (remove `all` from restore)"
    permissions = ("rds:ModifyDBSnapshotAttribute", "rds:DescribeDBSnapshotAttributes")
    operation = "ModifyDBSnapshotAttribute"
    describe = "DescribeDBSnapshotAttributes"
    id_param = "DBSnapshotIdentifier"
    result_key = "DBSnapshotAttributesResult"


class RdsClusterSnapshotMakePrivate(_RdsSnapshotMakePrivate):
    name = "rds-cluster-snapshot-make-private"
    resource_type = "rds-cluster-snapshot"
    noun = "RDS cluster snapshot"
    title = "Make a public RDS cluster snapshot private (remove `all` from restore)"
    permissions = ("rds:ModifyDBClusterSnapshotAttribute", "rds:DescribeDBClusterSnapshotAttributes")
    operation = "ModifyDBClusterSnapshotAttribute"
    describe = "DescribeDBClusterSnapshotAttributes"
    id_param = "DBClusterSnapshotIdentifier"
    result_key = "DBClusterSnapshotAttributesResult"


class _BlockPublicAccess(Action):
    """Region-wide block-public-access, proposed for a region finding or any public resource there."""

    resource_type = "region"
    checklist_items = ("make-images-private",)
    setting: ClassVar[str]
    finding_setting: ClassVar[str]
    """``data.setting`` of the block-public-access check's finding for this switch."""
    triggered_by: ClassVar[str]
    enable: ClassVar[Call]
    get: ClassVar[str]
    state_key: ClassVar[str]
    wanted: ClassVar[str]

    def proposes(self, finding: Finding) -> bool:
        resource_type = finding.data.get("resource_type")
        if finding.region is None or finding.check not in self.triggers:
            return False
        if resource_type == self.triggered_by:
            return True
        return resource_type == "region" and finding.data.get("setting") == self.finding_setting

    def shows_unfixed(self, finding: Finding) -> bool:
        """The region's switch read off; a public resource alone says nothing (blocking public
        access stops new sharing, it does not unshare what already is)."""
        return finding.data.get("resource_type") == "region"

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        region = str(finding.region)
        call = Call("ec2", self.enable.operation, region, dict(self.enable.params))
        return planned(
            self,
            finding,
            region,
            f"enable {self.setting} in {region}",
            [call],
            [self.disable_call(region, "unblocked")],
            region=region,
        )

    def disable_call(self, region: str, previous: str) -> Call:
        raise NotImplementedError

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        got = read_call(clients, "ec2", self.get, planned.region, planned.account_id)
        return {"state": got[self.state_key]}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return bool(state["state"] == self.wanted)

    def resolve_undo(
        self, planned: PlannedAction, before: State, after: State, made: tuple[Call, ...]
    ) -> tuple[Call, ...]:
        return (self.disable_call(str(planned.region), str(before["state"])),)


class ImageBlockPublicAccess(_BlockPublicAccess):
    name = "ami-block-public-access"
    title = "Enable block-public-access for AMIs in a region (no new public sharing)"
    permissions = (
        "ec2:EnableImageBlockPublicAccess",
        "ec2:DisableImageBlockPublicAccess",
        "ec2:GetImageBlockPublicAccessState",
    )
    undo_note = "DisableImageBlockPublicAccess (only if it was off before)."
    setting = "image-block-public-access"
    finding_setting = "images"
    triggered_by = "ami"
    triggers: ClassVar[Triggers] = {"block-public-access": True, "public-amis": True}
    enable = Call(
        "ec2", "EnableImageBlockPublicAccess", None, {"ImageBlockPublicAccessState": "block-new-sharing"}
    )
    get = "GetImageBlockPublicAccessState"
    state_key = "ImageBlockPublicAccessState"
    wanted = "block-new-sharing"

    def disable_call(self, region: str, previous: str) -> Call:
        if previous == "block-new-sharing":
            return Call(
                "ec2", "EnableImageBlockPublicAccess", region, {"ImageBlockPublicAccessState": previous}
            )
        return Call("ec2", "DisableImageBlockPublicAccess", region, {})


class SnapshotBlockPublicAccess(_BlockPublicAccess):
    name = "ebs-snapshot-block-public-access"
    title = "Enable block-public-access for EBS snapshots in a region (block all public sharing)"
    permissions = (
        "ec2:EnableSnapshotBlockPublicAccess",
        "ec2:DisableSnapshotBlockPublicAccess",
        "ec2:GetSnapshotBlockPublicAccessState",
    )
    undo_note = "Puts back the state read before: DisableSnapshotBlockPublicAccess, or the earlier mode."
    setting = "snapshot-block-public-access"
    finding_setting = "snapshots"
    triggered_by = "ebs-snapshot"
    triggers: ClassVar[Triggers] = {"block-public-access": True, "public-ebs-snapshots": True}
    enable = Call("ec2", "EnableSnapshotBlockPublicAccess", None, {"State": "block-all-sharing"})
    get = "GetSnapshotBlockPublicAccessState"
    state_key = "State"
    wanted = "block-all-sharing"

    def disable_call(self, region: str, previous: str) -> Call:
        if previous in ("block-new-sharing", "block-all-sharing"):
            return Call("ec2", "EnableSnapshotBlockPublicAccess", region, {"State": previous})
        return Call("ec2", "DisableSnapshotBlockPublicAccess", region, {})


IMAGE_ACTIONS: tuple[Action, ...] = (
    AmiMakePrivate(),
    EbsSnapshotMakePrivate(),
    RdsSnapshotMakePrivate(),
    RdsClusterSnapshotMakePrivate(),
)
GUARD_RAILS: tuple[Action, ...] = (ImageBlockPublicAccess(), SnapshotBlockPublicAccess())
"""Region-wide switches that keep it from happening again: they run after every containing fix."""
