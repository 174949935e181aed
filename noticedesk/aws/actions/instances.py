"""Fixes for instances: isolate a reported one (snapshot first, quarantine group), stop, terminate."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from noticedesk.aws.actions.base import (
    Action,
    ActionFailed,
    Call,
    Clients,
    PlannedAction,
    State,
    Triggers,
    partial_failure,
    planned,
    read_call,
    run_call,
)
from noticedesk.aws.findings import Finding

QUARANTINE_GROUP = "noticedesk-quarantine"
EACH_VOLUME = "<each attached EBS volume>"
QUARANTINE_ID = "<the quarantine group>"


def _instance_id(finding: Finding) -> str:
    return str(finding.data.get("instance_id") or finding.resource_id)


def _unexpected(finding: Finding) -> bool:
    """An instance with the miner's signature (accelerated type, unusual region, spot), per the
    ``instances`` check; one that is only recent is worth a look, not a default stop."""
    return finding.check == "instances" and bool(finding.data.get("unexpected"))


def _names_an_instance(finding: Finding) -> bool:
    """Findings about a reported IP no instance holds, or an unfulfilled spot request, name none."""
    return bool(finding.data.get("instance_id"))


def _describe(clients: Clients, planned: PlannedAction) -> dict[str, Any]:
    reservations = read_call(
        clients,
        "ec2",
        "DescribeInstances",
        planned.region,
        planned.account_id,
        InstanceIds=[planned.resource_id],
    )["Reservations"]
    instances = [instance for reservation in reservations for instance in reservation["Instances"]]
    if not instances:
        raise ActionFailed(f"instance {planned.resource_id} not found in {planned.region}")
    found: dict[str, Any] = instances[0]
    return found


class InstanceIsolate(Action):
    name = "instance-isolate"
    resource_type = "instance"
    title = "Isolate an instance: snapshot its volumes, then a security group with no rules at all"
    permissions = (
        "ec2:DescribeInstances",
        "ec2:CreateSnapshot",
        "ec2:CreateTags",
        "ec2:DescribeSecurityGroups",
        "ec2:CreateSecurityGroup",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:ModifyInstanceAttribute",
        "ec2:ModifyNetworkInterfaceAttribute",
    )
    undo_note = (
        "Puts the instance's (and each secondary interface's) previous security groups back; "
        "the evidence snapshots and the quarantine group are kept."
    )
    triggers: ClassVar[Triggers] = {"abuse-target": True}
    checklist_items = ("stop-activity", "malware-forensic-snapshot")

    def proposes(self, finding: Finding) -> bool:
        return super().proposes(finding) and _names_an_instance(finding)

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        instance, region = _instance_id(finding), finding.region
        secondary, quarantine, earlier = "<each secondary interface>", [QUARANTINE_ID], "<groups before>"
        calls = [
            Call("ec2", "CreateSnapshot", region, {
                "VolumeId": EACH_VOLUME, "Description": f"NoticeDesk evidence before isolating {instance}",
            }),
            Call("ec2", "CreateSecurityGroup", region, {
                "GroupName": QUARANTINE_GROUP, "VpcId": "<its VPC>",
                "Description": "NoticeDesk quarantine: no ingress, no egress",
            }),
            Call("ec2", "RevokeSecurityGroupEgress", region, {
                "GroupId": QUARANTINE_ID, "IpPermissions": "<every egress rule>",
            }),
            Call("ec2", "ModifyInstanceAttribute", region, {"InstanceId": instance, "Groups": quarantine}),
            Call("ec2", "ModifyNetworkInterfaceAttribute", region, {
                "NetworkInterfaceId": secondary, "Groups": quarantine,
            }),
        ]  # fmt: skip
        undo = [
            Call("ec2", "ModifyInstanceAttribute", region, {"InstanceId": instance, "Groups": earlier}),
            Call("ec2", "ModifyNetworkInterfaceAttribute", region, {
                "NetworkInterfaceId": secondary, "Groups": earlier,
            }),
        ]  # fmt: skip
        summary = (
            f"isolate instance {instance} (snapshot its volumes first, then a security group with no "
            "ingress and no egress; not stopped)"
        )
        return planned(self, finding, instance, summary, calls, undo)

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        # Groups are read through the APIs that change them: DescribeInstances for the instance
        # (ModifyInstanceAttribute), and the instance's interface list for secondary interfaces.
        # moto shows an attached interface's groups merged with the instance's: never mix the two.
        instance = _describe(clients, planned)
        secondary = {
            eni["NetworkInterfaceId"]: sorted(group["GroupId"] for group in eni.get("Groups", []))
            for eni in instance.get("NetworkInterfaces", [])
            if eni.get("Attachment", {}).get("DeviceIndex", 0) != 0
        }
        groups = sorted(group["GroupId"] for group in instance.get("SecurityGroups", []))
        every_group = sorted({*groups, *(group for ids in secondary.values() for group in ids)})
        rules: dict[str, int] = {}
        if every_group:
            described = read_call(
                clients,
                "ec2",
                "DescribeSecurityGroups",
                planned.region,
                planned.account_id,
                GroupIds=every_group,
            )
            rules = {
                group["GroupId"]: len(group.get("IpPermissions", []))
                + len(group.get("IpPermissionsEgress", []))
                for group in described["SecurityGroups"]
            }
        return {
            "instance_groups": groups,
            "secondary_interface_groups": secondary,
            "group_rule_counts": rules,
        }

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        counts: dict[str, int] = state["group_rule_counts"]
        every = [state["instance_groups"], *state["secondary_interface_groups"].values()]
        return all(len(ids) == 1 and counts.get(ids[0]) == 0 for ids in every)

    def execute(
        self, clients: Clients, planned: PlannedAction, before: State
    ) -> tuple[tuple[Call, ...], tuple[tuple[str, str], ...]]:
        made: list[Call] = []

        def call(service: str, operation: str, **params: Any) -> dict[str, Any]:
            request = Call(service, operation, planned.region, params)
            response = run_call(clients, request, planned.account_id)
            made.append(request)
            return response

        try:
            instance = _describe(clients, planned)
            tags = [{"Key": "noticedesk:isolated-instance", "Value": planned.resource_id}]
            for mapping in instance.get("BlockDeviceMappings", []):
                volume = mapping.get("Ebs", {}).get("VolumeId")
                if volume:
                    call(
                        "ec2",
                        "CreateSnapshot",
                        VolumeId=volume,
                        Description=f"NoticeDesk evidence before isolating {planned.resource_id}",
                        TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
                    )
            group_id = self._quarantine_group(clients, planned, str(instance["VpcId"]), call)
            call("ec2", "ModifyInstanceAttribute", InstanceId=planned.resource_id, Groups=[group_id])
            for interface in sorted(before["secondary_interface_groups"]):
                call(
                    "ec2", "ModifyNetworkInterfaceAttribute", NetworkInterfaceId=interface, Groups=[group_id]
                )
        except ActionFailed as error:
            raise partial_failure(made, error) from error
        return tuple(made), ()

    def resolve_undo(
        self, planned: PlannedAction, before: State, after: State, made: tuple[Call, ...]
    ) -> tuple[Call, ...]:
        region, instance = planned.region, planned.resource_id
        calls = [
            Call(
                "ec2",
                "ModifyInstanceAttribute",
                region,
                {"InstanceId": instance, "Groups": before["instance_groups"]},
            )
        ]
        calls += [
            Call(
                "ec2",
                "ModifyNetworkInterfaceAttribute",
                region,
                {"NetworkInterfaceId": eni, "Groups": groups},
            )
            for eni, groups in sorted(before["secondary_interface_groups"].items())
        ]
        return tuple(call for call in calls if call.params["Groups"])

    def undone(self, planned: PlannedAction, applied_before: State, state: State) -> bool:
        keys = ("instance_groups", "secondary_interface_groups")
        return all(state[key] == applied_before[key] for key in keys)

    def _quarantine_group(self, clients: Clients, planned: PlannedAction, vpc: str, call: Any) -> str:
        """Reuse the VPC's quarantine group or create it; either way strip every rule from it."""
        existing = read_call(
            clients,
            "ec2",
            "DescribeSecurityGroups",
            planned.region,
            planned.account_id,
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "group-name", "Values": [QUARANTINE_GROUP]},
            ],
        )["SecurityGroups"]
        if existing:
            group = existing[0]
        else:
            created = call(
                "ec2",
                "CreateSecurityGroup",
                GroupName=QUARANTINE_GROUP,
                VpcId=vpc,
                Description="NoticeDesk quarantine: no ingress, no egress",
            )
            group = read_call(
                clients,
                "ec2",
                "DescribeSecurityGroups",
                planned.region,
                planned.account_id,
                GroupIds=[created["GroupId"]],
            )["SecurityGroups"][0]
        if group.get("IpPermissionsEgress"):
            call(
                "ec2",
                "RevokeSecurityGroupEgress",
                GroupId=group["GroupId"],
                IpPermissions=_bare(group["IpPermissionsEgress"]),
            )
        if group.get("IpPermissions"):
            call(
                "ec2",
                "RevokeSecurityGroupIngress",
                GroupId=group["GroupId"],
                IpPermissions=_bare(group["IpPermissions"]),
            )
        return str(group["GroupId"])


def _bare(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rules as described, reduced to the fields a revoke accepts."""
    keep = ("IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs")
    return [{key: rule[key] for key in keep if rule.get(key) not in (None, [])} for rule in permissions]


def _state(clients: Clients, planned: PlannedAction) -> State:
    return {"state": _describe(clients, planned)["State"]["Name"]}


class InstanceStop(Action):
    name = "instance-stop"
    resource_type = "instance"
    title = "Stop an instance (the default for unexpected instances; optional after isolating)"
    permissions = ("ec2:StopInstances", "ec2:StartInstances", "ec2:DescribeInstances")
    undo_note = "StartInstances starts it again (a new public IP unless it has an Elastic IP)."
    triggers: ClassVar[Triggers] = {"instances": True, "abuse-target": False}
    default_kinds = frozenset({"account-compromised"})
    """A miner on a leaked key is stopped by default; in an abuse case only the reported instance is
    acted on by default (isolated), other instances are the owner's call."""
    checklist_items = ("stop-activity",)

    def proposes(self, finding: Finding) -> bool:
        return super().proposes(finding) and _names_an_instance(finding)

    def shows_unfixed(self, finding: Finding) -> bool:
        return finding.data.get("state") in ("pending", "running")

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        instance = _instance_id(finding)
        return planned(
            self,
            finding,
            instance,
            f"stop instance {instance}",
            [Call("ec2", "StopInstances", finding.region, {"InstanceIds": [instance]})],
            [Call("ec2", "StartInstances", finding.region, {"InstanceIds": [instance]})],
            default=_unexpected(finding),
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        return _state(clients, planned)

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return state["state"] in ("stopping", "stopped")

    def undone(self, planned: PlannedAction, applied_before: State, state: State) -> bool:
        return state["state"] in ("pending", "running")


class InstanceTerminate(Action):
    name = "instance-terminate"
    resource_type = "instance"
    title = "Terminate an unexpected instance (only when named explicitly; never for reported ones)"
    permissions = ("ec2:TerminateInstances", "ec2:DescribeInstances")
    reversible = False
    undo_note = "None: a terminated instance and its instance-store data are gone for good."
    triggers: ClassVar[Triggers] = {"instances": False}
    checklist_items = ("remove-unknown-resources",)
    default = False
    second_step = True

    def proposes(self, finding: Finding) -> bool:
        return super().proposes(finding) and _names_an_instance(finding) and _unexpected(finding)

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        instance = _instance_id(finding)
        return planned(
            self,
            finding,
            instance,
            f"terminate unexpected instance {instance}",
            [Call("ec2", "TerminateInstances", finding.region, {"InstanceIds": [instance]})],
            [],
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        return _state(clients, planned)

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return state["state"] in ("shutting-down", "terminated")


INSTANCE_ACTIONS: tuple[Action, ...] = (InstanceIsolate(), InstanceStop(), InstanceTerminate())
