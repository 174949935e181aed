"""EC2 per region: instances, spot requests, own AMIs and snapshots (with who may use them),
block-public-access state, and the network (Elastic IPs, ENIs, security groups)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from noticedesk.aws.gather import GatherError, Scope, call, item_or_error, pages


@dataclass(frozen=True)
class Instance:
    id: str
    type: str
    state: str
    launched: datetime
    public_ip: str | None
    private_ip: str | None
    security_groups: tuple[str, ...]
    volume_ids: tuple[str, ...]
    network_interfaces: tuple[str, ...]
    instance_profile: str | None
    lifecycle: str
    """``normal``, ``spot`` or ``scheduled``."""


@dataclass(frozen=True)
class Instances:
    instances: tuple[Instance, ...]
    spot_requests: tuple[dict[str, Any], ...] | GatherError


def gather_instances(scope: Scope, region: str | None) -> Instances:
    ec2 = scope.client("ec2", region)
    reservations = pages(ec2, "describe_instances", "Reservations", region)
    instances = [
        _instance(raw)
        for reservation in reservations
        for raw in reservation.get("Instances", [])
        if raw.get("State", {}).get("Name") != "terminated"
    ]
    spot = item_or_error(
        "ec2",
        "DescribeSpotInstanceRequests",
        region,
        lambda: tuple(
            {
                "id": raw["SpotInstanceRequestId"],
                "state": raw.get("State"),
                "instance_id": raw.get("InstanceId"),
                "instance_type": raw.get("LaunchSpecification", {}).get("InstanceType"),
                "created": raw.get("CreateTime"),
            }
            for raw in pages(ec2, "describe_spot_instance_requests", "SpotInstanceRequests", region)
        ),
    )
    return Instances(tuple(instances), spot)


def _instance(raw: dict[str, Any]) -> Instance:
    profile = raw.get("IamInstanceProfile", {}).get("Arn")
    groups = [group["GroupId"] for group in raw.get("SecurityGroups", [])]
    interfaces = raw.get("NetworkInterfaces", [])
    for interface in interfaces:
        groups += [group["GroupId"] for group in interface.get("Groups", [])]
    return Instance(
        id=raw["InstanceId"],
        type=raw.get("InstanceType", ""),
        state=raw.get("State", {}).get("Name", ""),
        launched=raw["LaunchTime"],
        public_ip=raw.get("PublicIpAddress"),
        private_ip=raw.get("PrivateIpAddress"),
        security_groups=tuple(dict.fromkeys(groups)),
        volume_ids=tuple(
            mapping["Ebs"]["VolumeId"] for mapping in raw.get("BlockDeviceMappings", []) if "Ebs" in mapping
        ),
        network_interfaces=tuple(interface["NetworkInterfaceId"] for interface in interfaces),
        instance_profile=profile,
        lifecycle=raw.get("InstanceLifecycle", "normal"),
    )


@dataclass(frozen=True)
class Image:
    id: str
    name: str
    public: bool
    created: str | None


@dataclass(frozen=True)
class Snapshot:
    id: str
    volume_id: str | None
    created: datetime | None
    shared_with: tuple[str, ...] | GatherError
    """``all`` or account ids, from DescribeSnapshotAttribute(createVolumePermission)."""


@dataclass(frozen=True)
class Images:
    images: tuple[Image, ...]


@dataclass(frozen=True)
class Snapshots:
    snapshots: tuple[Snapshot, ...]


def gather_images(scope: Scope, region: str | None) -> Images:
    ec2 = scope.client("ec2", region)
    raw_images = pages(ec2, "describe_images", "Images", region, Owners=["self"])
    return Images(
        tuple(
            Image(
                id=raw["ImageId"],
                name=raw.get("Name", ""),
                public=bool(raw.get("Public")),
                created=raw.get("CreationDate"),
            )
            for raw in raw_images
            # moto (and some partitions) may ignore Owners: keep only our own.
            if raw.get("OwnerId") in (None, scope.account_id)
        )
    )


def gather_snapshots(scope: Scope, region: str | None) -> Snapshots:
    ec2 = scope.client("ec2", region)
    # OwnerIds is honoured by AWS but ignored by moto: filter on the owner client-side too.
    listed = [
        raw
        for raw in pages(ec2, "describe_snapshots", "Snapshots", region, OwnerIds=["self"])
        if raw.get("OwnerId") == scope.account_id
    ]

    def shared(snapshot_id: str) -> tuple[str, ...]:
        permissions = call(
            ec2,
            "describe_snapshot_attribute",
            region,
            SnapshotId=snapshot_id,
            Attribute="createVolumePermission",
        ).get("CreateVolumePermissions", [])
        return tuple(item.get("Group") or item.get("UserId", "") for item in permissions)

    def one(raw: dict[str, Any]) -> Snapshot:
        return Snapshot(
            id=raw["SnapshotId"],
            volume_id=raw.get("VolumeId"),
            created=raw.get("StartTime"),
            shared_with=item_or_error(
                "ec2", "DescribeSnapshotAttribute", region, lambda: shared(raw["SnapshotId"])
            ),
        )

    return Snapshots(tuple(scope.fanout.map(one, listed)))


@dataclass(frozen=True)
class BlockPublicAccess:
    snapshots: str | GatherError
    """``block-all-sharing``, ``block-new-sharing`` or ``unblocked``."""
    images: str | GatherError
    """``block-new-sharing`` or ``unblocked``."""


def gather_block_public_access(scope: Scope, region: str | None) -> BlockPublicAccess:
    ec2 = scope.client("ec2", region)
    return BlockPublicAccess(
        snapshots=item_or_error(
            "ec2",
            "GetSnapshotBlockPublicAccessState",
            region,
            lambda: str(call(ec2, "get_snapshot_block_public_access_state", region)["State"]),
        ),
        images=item_or_error(
            "ec2",
            "GetImageBlockPublicAccessState",
            region,
            lambda: str(
                call(ec2, "get_image_block_public_access_state", region)["ImageBlockPublicAccessState"]
            ),
        ),
    )


@dataclass(frozen=True)
class Address:
    public_ip: str
    allocation_id: str | None
    instance_id: str | None
    network_interface_id: str | None


@dataclass(frozen=True)
class NetworkInterface:
    id: str
    public_ip: str | None
    instance_id: str | None
    security_groups: tuple[str, ...]


@dataclass(frozen=True)
class OpenRule:
    protocol: str
    from_port: int | None
    to_port: int | None
    source: str
    """``0.0.0.0/0`` or ``::/0``."""


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str
    open_to_world: tuple[OpenRule, ...]


@dataclass(frozen=True)
class Network:
    addresses: tuple[Address, ...]
    interfaces: tuple[NetworkInterface, ...]
    security_groups: tuple[SecurityGroup, ...]


def gather_network(scope: Scope, region: str | None) -> Network:
    ec2 = scope.client("ec2", region)
    addresses = call(ec2, "describe_addresses", region).get("Addresses", [])
    # The association.public-ip filter is missing in moto; match Association.PublicIp here instead.
    interfaces = pages(ec2, "describe_network_interfaces", "NetworkInterfaces", region)
    groups = pages(ec2, "describe_security_groups", "SecurityGroups", region)
    return Network(
        addresses=tuple(
            Address(
                public_ip=raw["PublicIp"],
                allocation_id=raw.get("AllocationId"),
                instance_id=raw.get("InstanceId") or None,
                network_interface_id=raw.get("NetworkInterfaceId"),
            )
            for raw in addresses
        ),
        interfaces=tuple(
            NetworkInterface(
                id=raw["NetworkInterfaceId"],
                public_ip=raw.get("Association", {}).get("PublicIp"),
                instance_id=raw.get("Attachment", {}).get("InstanceId"),
                security_groups=tuple(group["GroupId"] for group in raw.get("Groups", [])),
            )
            for raw in interfaces
        ),
        security_groups=tuple(
            SecurityGroup(id=raw["GroupId"], name=raw.get("GroupName", ""), open_to_world=_open_rules(raw))
            for raw in groups
        ),
    )


def _open_rules(group: dict[str, Any]) -> tuple[OpenRule, ...]:
    rules: list[OpenRule] = []
    for permission in group.get("IpPermissions", []):
        sources = [item.get("CidrIp") for item in permission.get("IpRanges", [])]
        sources += [item.get("CidrIpv6") for item in permission.get("Ipv6Ranges", [])]
        for source in sources:
            if source in ("0.0.0.0/0", "::/0"):
                rules.append(
                    OpenRule(
                        protocol=str(permission.get("IpProtocol", "-1")),
                        from_port=permission.get("FromPort"),
                        to_port=permission.get("ToPort"),
                        source=source,
                    )
                )
    return tuple(rules)


@dataclass(frozen=True)
class LambdaFunction:
    name: str
    arn: str
    last_modified: str | None


@dataclass(frozen=True)
class Functions:
    functions: tuple[LambdaFunction, ...]


def gather_functions(scope: Scope, region: str | None) -> Functions:
    client = scope.client("lambda", region)
    return Functions(
        tuple(
            LambdaFunction(raw["FunctionName"], raw["FunctionArn"], raw.get("LastModified"))
            for raw in pages(client, "list_functions", "Functions", region)
        )
    )
