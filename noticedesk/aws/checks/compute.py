"""Compute: instances in every region (accelerated families, unusual regions, recent launches),
spot requests, and security groups open to the whole internet."""

from __future__ import annotations

import re

from noticedesk.aws.checks import Check, Context, Gathered
from noticedesk.aws.findings import Finding, Severity
from noticedesk.aws.gather import GatherError
from noticedesk.aws.gather.ec2 import Instances, Network, OpenRule

ACCELERATED = re.compile(r"^(p\d|g\d|inf\d|trn\d|dl\d|vt\d|f\d)")
"""GPU / accelerator families that miners favour (p*, g*, inf*, trn*, dl*, plus vt*, f*)."""
WEB_PORTS = frozenset({80, 443})


def judge_instances(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings = []
    usual = context.settings.usual_regions
    for region, data in gathered.per_region("instances"):
        if isinstance(data, GatherError):
            findings.append(check.error(gathered, region, "instance", None, data))
            continue
        assert isinstance(data, Instances)
        for instance in data.instances:
            reasons = []
            if ACCELERATED.match(instance.type):
                reasons.append(f"accelerated type {instance.type}")
            if usual and region not in usual:
                reasons.append(f"in {region}, outside the usual regions")
            if context.recent(instance.launched):
                reasons.append(f"launched {instance.launched:%Y-%m-%d %H:%M} UTC")
            if instance.lifecycle == "spot":
                reasons.append("spot instance")
            facts = {
                "instance_id": instance.id,
                "instance_type": instance.type,
                "state": instance.state,
                "launch_time": instance.launched.isoformat(),
                "volume_ids": list(instance.volume_ids),
                "security_groups": list(instance.security_groups),
                "public_ip": instance.public_ip,
                "instance_profile": instance.instance_profile,
                "reasons": reasons,
            }
            if reasons:
                alarming = ACCELERATED.match(instance.type) or (usual and region not in usual)
                severity: Severity = "high" if alarming else "medium"
                findings.append(
                    check.fail(
                        gathered,
                        region,
                        "instance",
                        instance.id,
                        f"{instance.id}: {', '.join(reasons)}",
                        severity,
                        **facts,
                    )
                )
            else:
                findings.append(
                    check.passed(
                        gathered,
                        region,
                        "instance",
                        instance.id,
                        f"{instance.id} ({instance.type}) looks usual",
                        **facts,
                    )
                )
        spot = data.spot_requests
        if isinstance(spot, GatherError):
            findings.append(check.error(gathered, region, "region", region, spot))
        else:
            for request in spot:
                if request.get("state") in ("open", "active"):
                    findings.append(
                        check.fail(
                            gathered,
                            region,
                            "instance",
                            request.get("instance_id") or request["id"],
                            f"Spot request {request['id']} is {request['state']} "
                            f"({request.get('instance_type') or '?'})",
                            "medium",
                            instance_id=request.get("instance_id"),
                            spot_request_id=request["id"],
                        )
                    )
    return findings


def describe_rules(rules: tuple[OpenRule, ...]) -> list[str]:
    described = []
    for rule in rules:
        if rule.protocol == "-1":
            ports = "all traffic"
        elif rule.from_port == rule.to_port:
            ports = f"{rule.protocol}/{rule.from_port}"
        else:
            ports = f"{rule.protocol}/{rule.from_port}-{rule.to_port}"
        described.append(f"{ports} from {rule.source}")
    return described


def risky_rules(rules: tuple[OpenRule, ...]) -> tuple[OpenRule, ...]:
    """Open rules beyond plain web ports (80, 443)."""
    return tuple(
        rule
        for rule in rules
        if not (rule.protocol == "tcp" and rule.from_port == rule.to_port and rule.from_port in WEB_PORTS)
    )


def judge_security_groups(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings = []
    for region, network in gathered.per_region("network"):
        if isinstance(network, GatherError):
            findings.append(check.error(gathered, region, "security-group", None, network))
            continue
        assert isinstance(network, Network)
        attached: dict[str, list[str]] = {}
        for interface in network.interfaces:
            for group_id in interface.security_groups:
                attached.setdefault(group_id, []).append(interface.instance_id or interface.id)
        for group in network.security_groups:
            risky = risky_rules(group.open_to_world)
            users = attached.get(group.id, [])
            facts = {
                "group_id": group.id,
                "group_name": group.name,
                "open_rules": describe_rules(group.open_to_world),
                "attached_to": users,
            }
            if risky:
                findings.append(
                    check.fail(
                        gathered,
                        region,
                        "security-group",
                        group.id,
                        f"{group.id} ({group.name}) allows {', '.join(describe_rules(risky))}"
                        + (f"; used by {', '.join(users)}" if users else "; not attached"),
                        "high" if users else "low",
                        **facts,
                    )
                )
            else:
                findings.append(
                    check.passed(
                        gathered,
                        region,
                        "security-group",
                        group.id,
                        f"{group.id} ({group.name}) opens at most web ports to the internet",
                        **facts,
                    )
                )
    return findings


CHECKS = (
    Check(
        "instances", "Instances: accelerated families, unusual regions, recent launches, spot", "high",
        "Leaked keys are used to launch GPU instances for mining, often in regions the owner never looks at.",
        "Stop (snapshot first) or terminate instances nobody launched; cancel their spot requests.",
        ("ec2:DescribeInstances", "ec2:DescribeSpotInstanceRequests"), ("instances",), judge_instances,
        frozenset({"account-compromised", "abuse-report"}),
    ),
    Check(
        "security-groups", "Security groups open to 0.0.0.0/0 or ::/0 beyond web ports", "high",
        "Open SSH, RDP or all ports invite brute force, and often explain an abuse report.",
        "Restrict sources to known addresses, or use Session Manager instead of open SSH/RDP.",
        ("ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces", "ec2:DescribeAddresses"),
        ("network",), judge_security_groups, frozenset({"account-compromised", "abuse-report"}),
    ),
)  # fmt: skip
