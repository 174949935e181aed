"""The abuse target: the reported IP address → Elastic IP / network interface → instance, now and
at the reported time (CloudTrail), with its open security groups, launch time and profile."""

from __future__ import annotations

from typing import Any

from noticedesk.aws.checks import Check, Context, Gathered
from noticedesk.aws.checks.compute import describe_rules
from noticedesk.aws.findings import Finding
from noticedesk.aws.gather import GatherError
from noticedesk.aws.gather.cloudtrail import Trail
from noticedesk.aws.gather.ec2 import Instances, Network


def _holder_now(network: Network, instances: Instances | GatherError, ip: str) -> dict[str, Any] | None:
    address = next((item for item in network.addresses if item.public_ip == ip), None)
    interface = next((item for item in network.interfaces if item.public_ip == ip), None)
    instance_id = (address.instance_id if address else None) or (interface.instance_id if interface else None)
    if instance_id is None and not isinstance(instances, GatherError):
        instance_id = next((item.id for item in instances.instances if item.public_ip == ip), None)
    if address is None and interface is None and instance_id is None:
        return None
    return {
        "instance_id": instance_id,
        "allocation_id": address.allocation_id if address else None,
        "network_interface_id": (interface.id if interface else None)
        or (address.network_interface_id if address else None),
        "elastic_ip": address is not None,
    }


def _holder_then(trail: Trail, ip: str, allocation_id: str | None, context: Context) -> dict[str, Any] | None:
    moment = context.facts.abuse_time
    relevant = sorted(
        (
            event
            for event in trail.address_events
            if (event.public_ip == ip or (allocation_id and event.allocation_id == allocation_id))
            and (moment is None or event.at <= moment)
        ),
        key=lambda event: event.at,
    )
    if not relevant:
        return None
    last = relevant[-1]
    held = last.name != "DisassociateAddress"
    return {
        "instance_id": last.instance_id if held else None,
        "event": last.name,
        "at": last.at.isoformat(),
    }


def judge_abuse_target(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings = []
    for ip in context.facts.ip_addresses:
        unread: list[GatherError] = []
        found = False
        for region, network in gathered.per_region("network"):
            if isinstance(network, GatherError):
                unread.append(network)
                continue
            assert isinstance(network, Network)
            instances = gathered.get("instances", region)
            now_holder = _holder_now(network, instances, ip)
            trail = gathered.get("trail", region)
            then_holder = (
                None
                if isinstance(trail, GatherError)
                else _holder_then(trail, ip, (now_holder or {}).get("allocation_id"), context)
            )
            if now_holder is None and then_holder is None:
                continue
            found = True
            instance_id = (now_holder or {}).get("instance_id") or (then_holder or {}).get("instance_id")
            data: dict[str, Any] = {
                "ip_address": ip,
                "instance_id": instance_id,
                "now": now_holder,
                "at_reported_time": then_holder,
                "history": "unavailable: " + trail.describe() if isinstance(trail, GatherError) else "read",
            }
            text = f"{ip} belongs to {instance_id or 'no instance'} in {region}"
            instance = None
            if not isinstance(instances, GatherError) and instance_id:
                instance = next((item for item in instances.instances if item.id == instance_id), None)
            if instance is not None:
                groups = [group for group in network.security_groups if group.id in instance.security_groups]
                open_rules = {
                    group.id: describe_rules(group.open_to_world) for group in groups if group.open_to_world
                }
                data.update(
                    state=instance.state,
                    instance_type=instance.type,
                    launch_time=instance.launched.isoformat(),
                    instance_profile=instance.instance_profile,
                    volume_ids=list(instance.volume_ids),
                    security_groups=list(instance.security_groups),
                    open_to_world=open_rules,
                )
                text += f" ({instance.type}, {instance.state}, launched {instance.launched:%Y-%m-%d})"
                if open_rules:
                    text += "; open to the internet: " + "; ".join(
                        f"{group} {', '.join(rules)}" for group, rules in open_rules.items()
                    )
            if then_holder and then_holder.get("instance_id") != (now_holder or {}).get("instance_id"):
                text += f"; at the reported time: {then_holder.get('instance_id') or 'unassociated'}"
            findings.append(check.fail(gathered, region, "instance", instance_id or ip, text, **data))
        if not found and unread:
            findings.append(check.error(gathered, None, "instance", ip, unread[0]))
        elif not found:
            # Not a clean bill: the address may have been released since the report, or the
            # notice may be about another account. A person looks; nothing is fixed from it.
            findings.append(
                check.warned(
                    gathered, None, "instance", ip,
                    f"{ip} is not held by this account in the {len(gathered.regions)} region(s) read: "
                    "it may have been released since the report, or the notice is about another account",
                    "medium", ip_address=ip,
                )
            )  # fmt: skip
    return findings


CHECKS = (
    Check(
        "abuse-target", "The reported IP: which instance holds it, now and at the reported time", "high",
        "The reported instance keeps sending abuse until it is isolated; AWS may block it or the account.",
        "Isolate the instance (snapshot, then a no-traffic security group), find the cause, reply to AWS.",
        ("ec2:DescribeAddresses", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
         "ec2:DescribeInstances", "cloudtrail:LookupEvents"),
        ("network", "instances", "trail"), judge_abuse_target, frozenset({"abuse-report"}), "ip_addresses",
    ),
)  # fmt: skip
