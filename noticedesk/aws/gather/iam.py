"""IAM (global): users with their keys, policies, console and MFA state; roles and their trust; root."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from noticedesk.aws.gather import GatherError, Scope, call, item_or_error, pages, pages_of

QUARANTINE_PREFIX = "AWSCompromisedKeyQuarantine"


@dataclass(frozen=True)
class KeyLastUsed:
    at: datetime | None
    service: str | None
    region: str | None


@dataclass(frozen=True)
class AccessKey:
    id: str
    user_name: str
    status: str
    created: datetime
    last_used: KeyLastUsed | GatherError


@dataclass(frozen=True)
class IamUser:
    name: str
    arn: str
    created: datetime
    managed_policies: tuple[str, ...]
    """ARNs attached to the user directly or through its groups."""
    policy_documents: tuple[dict[str, Any], ...]
    """Inline and customer-managed policy documents that apply to the user (own and groups')."""
    keys: tuple[AccessKey, ...] | GatherError
    console: bool | None
    """Has a password (login profile), from the credential report; None when it could not be read."""
    mfa_active: bool | None
    login_profile_created: datetime | GatherError | None


@dataclass(frozen=True)
class IamRole:
    name: str
    arn: str
    created: datetime
    trust_principals: tuple[str, ...]
    """Every AWS principal (ARN, account id or ``*``) that the trust policy allows to assume the role."""


@dataclass(frozen=True)
class IamInventory:
    users: tuple[IamUser, ...]
    roles: tuple[IamRole, ...]
    root_keys_active: bool | GatherError
    root_mfa_active: bool | GatherError


def gather_iam(scope: Scope, region: str | None) -> IamInventory:
    iam = scope.client("iam", None)
    details = _authorization_details(iam)
    report = item_or_error("iam", "GetCredentialReport", None, lambda: _credential_report(iam))
    rows = report if isinstance(report, dict) else {}
    local_policies = {
        policy["Arn"]: _default_document(policy) for policy in details["Policies"] if "Arn" in policy
    }
    groups = {group["GroupName"]: group for group in details["GroupDetailList"]}

    def one_user(raw: dict[str, Any]) -> IamUser:
        name = raw["UserName"]
        arns = [item["PolicyArn"] for item in raw.get("AttachedManagedPolicies", [])]
        documents = [item["PolicyDocument"] for item in raw.get("UserPolicyList", [])]
        for group_name in raw.get("GroupList", []):
            group = groups.get(group_name, {})
            arns += [item["PolicyArn"] for item in group.get("AttachedManagedPolicies", [])]
            documents += [item["PolicyDocument"] for item in group.get("GroupPolicyList", [])]
        documents += [local_policies[arn] for arn in arns if local_policies.get(arn)]
        row = rows.get(name, {})
        console = row.get("password_enabled") == "true" if row else None
        login: datetime | GatherError | None = None
        if console:
            login = item_or_error(
                "iam",
                "GetLoginProfile",
                None,
                lambda: call(iam, "get_login_profile", None, UserName=name)["LoginProfile"]["CreateDate"],
            )
        return IamUser(
            name=name,
            arn=raw["Arn"],
            created=raw["CreateDate"],
            managed_policies=tuple(dict.fromkeys(arns)),
            policy_documents=tuple(_as_dict(document) for document in documents),
            keys=item_or_error("iam", "ListAccessKeys", None, lambda: _keys(scope, iam, name)),
            console=console,
            mfa_active=row.get("mfa_active") == "true" if row else None,
            login_profile_created=login,
        )

    users = scope.fanout.map(one_user, details["UserDetailList"])
    roles = [
        IamRole(
            name=raw["RoleName"],
            arn=raw["Arn"],
            created=raw["CreateDate"],
            trust_principals=_aws_principals(_as_dict(raw.get("AssumeRolePolicyDocument", {}))),
        )
        for raw in details["RoleDetailList"]
    ]
    root = rows.get("<root_account>", {})
    root_keys: bool | GatherError = (
        report
        if isinstance(report, GatherError)
        else root.get("access_key_1_active") == "true" or root.get("access_key_2_active") == "true"
    )
    root_mfa: bool | GatherError = (
        report if isinstance(report, GatherError) else root.get("mfa_active") == "true"
    )
    return IamInventory(tuple(users), tuple(roles), root_keys, root_mfa)


def _authorization_details(iam: Any) -> dict[str, list[dict[str, Any]]]:
    return pages_of(
        iam,
        "get_account_authorization_details",
        ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"),
        None,
        Filter=["User", "Group", "Role", "LocalManagedPolicy"],
    )


def _credential_report(iam: Any) -> dict[str, dict[str, str]]:
    """Rows of the credential report by user name (``<root_account>`` for root)."""
    pause = 0.1
    for _ in range(12):  # AWS usually has it ready within seconds; poll with a growing pause
        state = call(iam, "generate_credential_report", None).get("State")
        if state == "COMPLETE":
            break
        time.sleep(pause)
        pause = min(pause * 2, 5.0)
    content = call(iam, "get_credential_report", None)["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return {row["user"]: row for row in csv.DictReader(io.StringIO(text))}


def _keys(scope: Scope, iam: Any, user_name: str) -> tuple[AccessKey, ...]:
    listed = pages(iam, "list_access_keys", "AccessKeyMetadata", None, UserName=user_name)

    def last_used(key_id: str) -> KeyLastUsed:
        used = call(iam, "get_access_key_last_used", None, AccessKeyId=key_id)["AccessKeyLastUsed"]
        return KeyLastUsed(
            at=used.get("LastUsedDate"),
            service=None if used.get("ServiceName") in (None, "N/A") else used["ServiceName"],
            region=None if used.get("Region") in (None, "N/A") else used["Region"],
        )

    def one(raw: dict[str, Any]) -> AccessKey:
        return AccessKey(
            id=raw["AccessKeyId"],
            user_name=user_name,
            status=raw["Status"],
            created=raw["CreateDate"],
            last_used=item_or_error(
                "iam", "GetAccessKeyLastUsed", None, lambda: last_used(raw["AccessKeyId"])
            ),
        )

    return tuple(one(raw) for raw in listed)


def _default_document(policy: dict[str, Any]) -> dict[str, Any] | None:
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion"):
            return _as_dict(version.get("Document", {}))
    return None


def _as_dict(document: Any) -> dict[str, Any]:
    """Policy documents arrive decoded by botocore; a string (URL-encoded JSON) is decoded here."""
    if isinstance(document, dict):
        return document
    if isinstance(document, str):
        from urllib.parse import unquote

        loaded = json.loads(unquote(document))
        return loaded if isinstance(loaded, dict) else {}
    return {}


def _aws_principals(trust: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    statements = trust.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal", {})
        if principal == "*":
            found.append("*")
            continue
        value = principal.get("AWS", []) if isinstance(principal, dict) else []
        found += [value] if isinstance(value, str) else list(value)
    return tuple(found)
