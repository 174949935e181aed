"""Who the AWS credentials are, and whether AWS has quarantined that principal.

AWS attaches ``AWSCompromisedKeyQuarantineV2``/``V3``/``V4`` to the user (or its group, or a role)
whose key leaked. Each denies that principal ``cloudtrail:LookupEvents`` and ``iam:UpdateAccessKey``:
run as it, a diagnosis reads no activity and a fix cannot deactivate the key. So neither runs as it.
"""

from __future__ import annotations

from typing import Any

from noticedesk.aws.actions.base import Clients
from noticedesk.aws.gather import AWS_FAILURES
from noticedesk.aws.gather.iam import QUARANTINE_PREFIX
from noticedesk.errors import AwsError


def _principal(arn: str) -> tuple[str, str] | None:
    """("user", name) or ("role", name) from a caller ARN; None for root and federated callers."""
    resource = arn.split(":", 5)[-1]
    if resource.startswith("user/"):
        return "user", resource.rsplit("/", 1)[-1]
    if resource.startswith("assumed-role/"):
        return "role", resource.split("/")[1]
    return None


def _attached(answer: dict[str, Any]) -> list[str]:
    return [str(policy["PolicyName"]) for policy in answer.get("AttachedPolicies", [])]


def _quarantines(iam: Any, kind: str, name: str) -> list[str]:
    """The quarantine policies on the principal: "AWSCompromisedKeyQuarantineV3" or "… (group ops)"."""
    if kind == "role":
        found = [(policy, "") for policy in _attached(iam.list_attached_role_policies(RoleName=name))]
    else:
        found = [(policy, "") for policy in _attached(iam.list_attached_user_policies(UserName=name))]
        for group in iam.list_groups_for_user(UserName=name).get("Groups", []):
            group_name = str(group["GroupName"])
            answer = iam.list_attached_group_policies(GroupName=group_name)
            found += [(policy, f" (through group {group_name})") for policy in _attached(answer)]
    return [policy + via for policy, via in found if policy.startswith(QUARANTINE_PREFIX)]


def quarantined_caller(clients: Clients, account_id: str | None) -> str | None:
    """Why not to run as these credentials in ``account_id``, if AWS quarantined them; else None.

    None too when it cannot be told (IAM not readable): the calls that follow then say what fails.
    """
    try:
        arn = str(clients.client("sts", None, account_id).get_caller_identity()["Arn"])
        principal = _principal(arn)
        if principal is None:
            return None
        policies = _quarantines(clients.client("iam", None, account_id), *principal)
    except (*AWS_FAILURES, AwsError):
        return None
    if not policies:
        return None
    return (
        f"these AWS credentials are {principal[0]} {principal[1]}, which AWS has quarantined "
        f"({', '.join(policies)}): the policy denies it cloudtrail:LookupEvents and iam:UpdateAccessKey, "
        "so it can neither investigate nor deactivate the key. Run as another administrator "
        "(--profile, or --role-name)"
    )
