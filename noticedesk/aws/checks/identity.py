"""Keys and identities: who owns the leaked key, every key's age and use, root keys, MFA,
the quarantine policy AWS attaches, and what an intruder may have left behind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from noticedesk.aws.checks import Check, Context, Gathered, age_days
from noticedesk.aws.findings import Finding, mask_key
from noticedesk.aws.gather import GatherError
from noticedesk.aws.gather.ec2 import Functions
from noticedesk.aws.gather.iam import QUARANTINE_PREFIX, AccessKey, IamInventory, IamUser

COMPROMISE = frozenset({"account-compromised"})
SES_KINDS = frozenset({"ses-vulnerable-site", "ses-bounce", "ses-complaint", "ses-review"})
IAM_READ = (
    "iam:GetAccountAuthorizationDetails",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:GetLoginProfile",
)
SES_SEND_ACTIONS = ("ses:sendemail", "ses:sendrawemail", "ses:*", "*", "ses:send*")
SES_MANAGED = ("AmazonSESFullAccess", "AdministratorAccess")
Maker = Callable[..., Finding]
"""``Check.fail`` or ``Check.passed``."""


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def key_facts(key: AccessKey, now: datetime) -> dict[str, Any]:
    used = key.last_used
    return {
        "user_name": key.user_name,
        "access_key_id": key.id,
        "status": key.status,
        "created": iso(key.created),
        "age_days": age_days(key.created, now),
        "last_used": None if isinstance(used, GatherError) else iso(used.at),
        "last_used_service": None if isinstance(used, GatherError) else used.service,
        "last_used_region": None if isinstance(used, GatherError) else used.region,
    }


def describe_key(key: AccessKey, now: datetime) -> str:
    used = key.last_used
    if isinstance(used, GatherError):
        last = f"last use unknown ({used.kind})"
    elif used.at is None:
        last = "never used"
    else:
        last = f"last used {used.at:%Y-%m-%d} ({used.service or '?'}, {used.region or '?'})"
    return (
        f"{mask_key(key.id)} of {key.user_name}: {key.status}, {age_days(key.created, now)} days old, {last}"
    )


def _key_finding(make: Maker, gathered: Gathered, key: AccessKey, text: str, now: datetime) -> Finding:
    return make(gathered, None, "access-key", mask_key(key.id), text, **key_facts(key, now))


def _user_finding(make: Maker, gathered: Gathered, user: IamUser, text: str, **data: Any) -> Finding:
    return make(gathered, None, "iam-user", user.name, text, user_name=user.name, **data)


def _all_keys(iam: IamInventory) -> tuple[list[AccessKey], list[tuple[IamUser, GatherError]]]:
    keys: list[AccessKey] = []
    failed: list[tuple[IamUser, GatherError]] = []
    for user in iam.users:
        if isinstance(user.keys, GatherError):
            failed.append((user, user.keys))
        else:
            keys.extend(user.keys)
    return keys, failed


def judge_key_owner(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    iam = gathered.get("iam")
    findings = []
    for key_id in context.facts.access_key_ids:
        if isinstance(iam, GatherError):
            findings.append(check.error(gathered, None, "access-key", mask_key(key_id), iam))
            continue
        keys, failed = _all_keys(iam)
        key = next((item for item in keys if item.id == key_id), None)
        if key is not None:
            make = check.fail if key.status == "Active" else check.passed
            text = f"The named key is {describe_key(key, context.now)}"
            findings.append(_key_finding(make, gathered, key, text, context.now))
        elif failed:
            findings.append(check.error(gathered, None, "access-key", mask_key(key_id), failed[0][1]))
        else:
            findings.append(
                check.passed(
                    gathered,
                    None,
                    "access-key",
                    mask_key(key_id),
                    f"{mask_key(key_id)} is not a key of this account (deleted, or another account's)",
                    access_key_id=key_id,
                    found=False,
                )
            )
    return findings


def judge_access_keys(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    iam = gathered.get("iam")
    if isinstance(iam, GatherError):
        return [check.error(gathered, None, "access-key", None, iam)]
    keys, failed = _all_keys(iam)
    findings = [check.error(gathered, None, "iam-user", user.name, error) for user, error in failed]
    limit = context.settings.key_max_age_days
    for key in keys:
        age = age_days(key.created, context.now) or 0
        text = describe_key(key, context.now)
        if key.status == "Active" and age > limit:
            findings.append(
                _key_finding(check.fail, gathered, key, f"{text}; older than {limit} days", context.now)
            )
        else:
            findings.append(_key_finding(check.passed, gathered, key, text, context.now))
    return findings


def judge_root_keys(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    iam = gathered.get("iam")
    state = iam if isinstance(iam, GatherError) else iam.root_keys_active
    if isinstance(state, GatherError):
        return [check.error(gathered, None, "account", gathered.account_id, state)]
    if state:
        return [
            check.fail(
                gathered, None, "account", gathered.account_id, "The root user has an active access key"
            )
        ]
    return [
        check.passed(gathered, None, "account", gathered.account_id, "The root user has no active access key")
    ]


def judge_console_mfa(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    iam = gathered.get("iam")
    if isinstance(iam, GatherError):
        return [check.error(gathered, None, "iam-user", None, iam)]
    findings = []
    for user in iam.users:
        if user.console is None:
            unknown = GatherError("iam", "GetCredentialReport", None, "aws-error", "user missing from report")
            findings.append(check.error(gathered, None, "iam-user", user.name, unknown))
        elif user.console and not user.mfa_active:
            text = f"{user.name} signs in to the console without MFA"
            findings.append(_user_finding(check.fail, gathered, user, text))
        elif user.console:
            findings.append(_user_finding(check.passed, gathered, user, f"{user.name} uses MFA"))
    return findings


def judge_quarantine(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    iam = gathered.get("iam")
    if isinstance(iam, GatherError):
        return [check.error(gathered, None, "iam-user", None, iam)]
    findings = []
    for user in iam.users:
        policies = [
            arn for arn in user.managed_policies if arn.rsplit("/", 1)[-1].startswith(QUARANTINE_PREFIX)
        ]
        if policies:
            findings.append(
                _user_finding(
                    check.fail,
                    gathered,
                    user,
                    f"AWS quarantined {user.name} ({', '.join(p.rsplit('/', 1)[-1] for p in policies)}): "
                    "a key of this user leaked. It limits this user only, not existing data: deactivate "
                    "the key as another administrator (the policy denies this user "
                    "iam:UpdateAccessKey and cloudtrail:LookupEvents). Never detach this policy; "
                    "follow the support case.",
                    policy_arns=policies,
                    warning="never detach AWSCompromisedKeyQuarantine*",
                )
            )
    if not findings:
        findings.append(
            check.passed(
                gathered, None, "account", gathered.account_id, "No user carries a quarantine policy"
            )
        )
    return findings


def _external(principal: str, account_id: str, trusted: list[str]) -> bool:
    if principal == "*":
        return True
    account = principal.split(":")[4] if principal.startswith("arn:") else principal
    return account not in (account_id, *trusted)


def judge_persistence(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    iam = gathered.get("iam")
    if isinstance(iam, GatherError):
        findings.append(check.error(gathered, None, "iam-user", None, iam))
    else:
        keys, failed = _all_keys(iam)
        findings += [check.error(gathered, None, "iam-user", user.name, error) for user, error in failed]
        for user in iam.users:
            if context.recent(user.created):
                text = f"User {user.name} was created {user.created:%Y-%m-%d %H:%M} UTC"
                findings.append(_user_finding(check.fail, gathered, user, text, created=iso(user.created)))
            login = user.login_profile_created
            if isinstance(login, GatherError):
                findings.append(check.error(gathered, None, "iam-user", user.name, login))
            elif context.recent(login):
                text = f"{user.name} got a console password on {login:%Y-%m-%d %H:%M} UTC"
                findings.append(_user_finding(check.fail, gathered, user, text, login_profile=iso(login)))
        for key in keys:
            if context.recent(key.created):
                text = f"New access key {describe_key(key, context.now)}"
                findings.append(_key_finding(check.fail, gathered, key, text, context.now))
        for role in iam.roles:
            outside = [
                p
                for p in role.trust_principals
                if _external(p, gathered.account_id, context.settings.trusted_accounts)
            ]
            if outside or context.recent(role.created):
                why = f"trusts {', '.join(outside)}" if outside else "was created recently"
                findings.append(
                    check.fail(
                        gathered,
                        None,
                        "account",
                        role.name,
                        f"Role {role.name} {why} (created {role.created:%Y-%m-%d})",
                        severity="high" if outside else "medium",
                        item_type="iam-role",
                        role_arn=role.arn,
                        external_principals=outside,
                    )
                )
    for region, functions in gathered.per_region("functions"):
        if isinstance(functions, GatherError):
            findings.append(check.error(gathered, region, "account", None, functions))
            continue
        assert isinstance(functions, Functions)
        for function in functions.functions:
            modified = _parse_time(function.last_modified)
            if context.recent(modified):
                findings.append(
                    check.fail(
                        gathered,
                        region,
                        "account",
                        function.name,
                        f"Lambda function {function.name} changed {function.last_modified}",
                        item_type="lambda-function",
                        function_arn=function.arn,
                    )
                )
    if not findings:
        findings.append(
            check.passed(
                gathered,
                None,
                "account",
                gathered.account_id,
                f"Nothing created in the last {context.settings.recent_days} days, no external trust",
            )
        )
    return findings


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("+0000", "+00:00"))
    except ValueError:
        return None


def can_send_ses(user: IamUser) -> bool:
    if any(arn.rsplit("/", 1)[-1] in SES_MANAGED for arn in user.managed_policies):
        return True
    for document in user.policy_documents:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if statement.get("Effect") == "Allow" and any(a.lower() in SES_SEND_ACTIONS for a in actions):
                return True
    return False


def judge_ses_senders(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    iam = gathered.get("iam")
    if isinstance(iam, GatherError):
        return [check.error(gathered, None, "iam-user", None, iam)]
    findings = []
    for user in iam.users:
        if not can_send_ses(user):
            continue
        if isinstance(user.keys, GatherError):
            findings.append(check.error(gathered, None, "iam-user", user.name, user.keys))
            continue
        active = [key for key in user.keys if key.status == "Active"]
        keys_text = "; ".join(describe_key(key, context.now) for key in active) or "no active key"
        make = check.fail if active else check.passed
        text = f"{user.name} may send through SES: {keys_text}"
        findings.append(_user_finding(make, gathered, user, text, access_key_ids=[key.id for key in active]))
    return findings


CHECKS = (
    Check(
        "key-owner", "Owner and state of the access key named in the notice", "critical",
        "A leaked key that is still active lets anyone act as its user.",
        "Deactivate the key now; delete it once nothing legitimate depends on it; rotate the user's keys.",
        IAM_READ, ("iam",), judge_key_owner, COMPROMISE | SES_KINDS, "access_key_ids",
    ),
    Check(
        "access-keys", "Every access key: age, status, last use", "medium",
        "Old active keys have had the most chances to leak and are rarely still needed.",
        "Rotate keys older than the limit; delete keys that are never used.",
        IAM_READ, ("iam",), judge_access_keys, COMPROMISE | SES_KINDS,
    ),
    Check(
        "root-access-keys", "Access keys of the root user", "critical",
        "A root key cannot be restricted by any policy.",
        "Delete root access keys; use roles or IAM users with least privilege instead.",
        IAM_READ, ("iam",), judge_root_keys, COMPROMISE,
    ),
    Check(
        "console-mfa", "Console users without MFA", "high",
        "A password alone is enough to take over the console.",
        "Enable MFA for every console user (or move them to IAM Identity Center).",
        IAM_READ, ("iam",), judge_console_mfa, COMPROMISE,
    ),
    Check(
        "quarantine-policy", "AWSCompromisedKeyQuarantine policy attached by AWS", "high",
        "AWS attached it because the user's key leaked; it limits that user's new charges, not the "
        "account, and does not protect existing data until the key is deactivated.",
        "Leave it attached (AWS: follow the support case); deactivate the key as another administrator.",
        IAM_READ, ("iam",), judge_quarantine, COMPROMISE,
    ),
    Check(
        "persistence", "Users, keys, passwords, roles and functions created recently", "high",
        "Intruders leave new users, keys, trusted roles or functions to come back after the key is revoked.",
        "Review each item with its owner; delete what nobody created on purpose.",
        (*IAM_READ, "lambda:ListFunctions"), ("iam", "functions"), judge_persistence, COMPROMISE,
    ),
    Check(
        "ses-sending-users", "IAM users allowed to send through SES, with their keys", "medium",
        "SMTP credentials are IAM keys; a leaked one sends spam in your name.",
        "Keep one sending user per application, rotate its keys, restrict it to its identities.",
        IAM_READ, ("iam",), judge_ses_senders, SES_KINDS,
    ),
)  # fmt: skip
