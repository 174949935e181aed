"""Fixes for leaked credentials: access keys, IAM users, and the AWS quarantine policy (never detached)."""

from __future__ import annotations

import json
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
    error_code,
    partial_failure,
    planned,
    read_call,
    run_call,
)
from noticedesk.aws.findings import Finding, mask_key

QUARANTINE_POLICY_NAME = "NoticeDeskQuarantineDenyAll"
REVOKE_POLICY_NAME = "NoticeDeskRevokeOlderSessions"
AWS_QUARANTINE_PREFIX = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine"
AWS_QUARANTINE_NAME = "AWSCompromisedKeyQuarantine"
"""Refused by name, whatever the path or account in the ARN (a copy of the policy is still AWS's word)."""
DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "NoticeDeskQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}


def _key_ids(finding: Finding) -> tuple[str, str]:
    return str(finding.data["access_key_id"]), str(finding.data["user_name"])


def _keys(clients: Clients, planned: PlannedAction) -> dict[str, str]:
    """Access key id → status for the user (ids only; secrets are never readable anyway)."""
    listed = read_call(
        clients, "iam", "ListAccessKeys", None, planned.account_id, UserName=planned.params["user_name"]
    )
    return {key["AccessKeyId"]: key["Status"] for key in listed["AccessKeyMetadata"]}


def _set_status(key_id: str, user: str, status: str) -> Call:
    return Call("iam", "UpdateAccessKey", None, {"UserName": user, "AccessKeyId": key_id, "Status": status})


class AccessKeyDeactivate(Action):
    name = "access-key-deactivate"
    resource_type = "access-key"
    title = "Deactivate a leaked access key (the default first step; reversible)"
    permissions = ("iam:UpdateAccessKey", "iam:ListAccessKeys")
    undo_note = "UpdateAccessKey Status=Active makes the key work again."
    triggers: ClassVar[Triggers] = {"key-owner": True, "persistence": False}
    checklist_items = ("deactivate-key", "check-credentials")

    def proposes(self, finding: Finding) -> bool:
        return super().proposes(finding) and finding.data.get("status") != "Inactive"

    def shows_unfixed(self, finding: Finding) -> bool:
        return finding.data.get("status") == "Active"

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        key, user = _key_ids(finding)
        return planned(
            self,
            finding,
            key,
            f"deactivate access key {mask_key(key)} of IAM user {user}",
            [_set_status(key, user, "Inactive")],
            [_set_status(key, user, "Active")],
            region=None,
            user_name=user,
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        return {"keys": _keys(clients, planned)}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return bool(state["keys"].get(planned.resource_id) == "Inactive")


class AccessKeyDelete(Action):
    name = "access-key-delete"
    resource_type = "access-key"
    title = "Delete an access key that is already inactive (an explicit second step)"
    permissions = ("iam:DeleteAccessKey", "iam:ListAccessKeys")
    reversible = False
    undo_note = "None: AWS cannot restore a deleted access key. Deactivate first, delete once nothing broke."
    triggers: ClassVar[Triggers] = {"key-owner": False, "persistence": False}
    checklist_items = ("delete-exposed-key",)
    default = False
    second_step = True

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        key, user = _key_ids(finding)
        call = Call("iam", "DeleteAccessKey", None, {"UserName": user, "AccessKeyId": key})
        return planned(
            self,
            finding,
            key,
            f"delete access key {mask_key(key)} of IAM user {user} (only once it is inactive)",
            [call],
            [],
            region=None,
            user_name=user,
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        return {"keys": _keys(clients, planned)}

    def precondition(self, planned: PlannedAction, before: State) -> str | None:
        status = before["keys"].get(planned.resource_id)
        if status == "Active":
            return "the key is still active: deactivate it first (access-key-deactivate), then delete"
        return None

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return planned.resource_id not in state["keys"]


class AccessKeyRotate(Action):
    name = "access-key-rotate"
    resource_type = "access-key"
    title = "Rotate an application user's key: create a new one (secret shown once), deactivate the old"
    permissions = ("iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:ListAccessKeys")
    undo_note = "Reactivates the old key and deactivates the new one (nothing is deleted)."
    triggers: ClassVar[Triggers] = {"key-owner": False, "access-keys": False}
    checklist_items = ("deactivate-key", "check-credentials")
    default = False

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        key, user = _key_ids(finding)
        calls = [Call("iam", "CreateAccessKey", None, {"UserName": user}), _set_status(key, user, "Inactive")]
        undo = [_set_status(key, user, "Active"), _set_status("<the new key>", user, "Inactive")]
        return planned(
            self,
            finding,
            key,
            f"rotate access key {mask_key(key)} of IAM user {user}: new key shown once, old key deactivated",
            calls,
            undo,
            region=None,
            user_name=user,
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        return {"keys": _keys(clients, planned)}

    def precondition(self, planned: PlannedAction, before: State) -> str | None:
        if len(before["keys"]) >= 2:
            return "the user already has two access keys (the AWS limit): delete an unused one first"
        return None

    def execute(
        self, clients: Clients, planned: PlannedAction, before: State
    ) -> tuple[tuple[Call, ...], tuple[tuple[str, str], ...]]:
        create, deactivate = planned.calls
        created = run_call(clients, create, planned.account_id)["AccessKey"]
        made = [create]
        shown = (
            ("new access key id", created["AccessKeyId"]),
            ("new secret access key", created["SecretAccessKey"]),
        )
        try:
            run_call(clients, deactivate, planned.account_id)
        except ActionFailed as error:
            raise partial_failure(made, error) from error
        made.append(deactivate)
        return tuple(made), shown

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        keys: dict[str, str] = state["keys"]
        others = [status for key, status in keys.items() if key != planned.resource_id]
        return keys.get(planned.resource_id) == "Inactive" and others == ["Active"]

    def resolve_undo(
        self, planned: PlannedAction, before: State, after: State, made: tuple[Call, ...]
    ) -> tuple[Call, ...]:
        old, user = planned.resource_id, str(planned.params["user_name"])
        new_keys = sorted(set(after.get("keys", {})) - set(before["keys"]))
        return (_set_status(old, user, "Active"), *(_set_status(key, user, "Inactive") for key in new_keys))

    def undone(self, planned: PlannedAction, applied_before: State, state: State) -> bool:
        keys: dict[str, str] = state["keys"]
        new = [status for key, status in keys.items() if key not in applied_before["keys"]]
        return keys.get(planned.resource_id) == "Active" and all(status == "Inactive" for status in new)


def _user_policies(clients: Clients, planned: PlannedAction) -> list[str]:
    listed = read_call(
        clients, "iam", "ListUserPolicies", None, planned.account_id, UserName=planned.resource_id
    )
    return sorted(listed["PolicyNames"])


class _InlinePolicy(Action):
    """Put one inline policy on the user; undo deletes it."""

    resource_type = "iam-user"
    policy_name: ClassVar[str]
    undo_note = "DeleteUserPolicy removes the inline policy again."

    def document(self, now: datetime) -> dict[str, Any]:
        raise NotImplementedError

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        user = str(finding.data.get("user_name") or finding.resource_id)
        put = Call(
            "iam",
            "PutUserPolicy",
            None,
            {
                "UserName": user,
                "PolicyName": self.policy_name,
                "PolicyDocument": json.dumps(self.document(now), sort_keys=True),
            },
        )
        delete = Call("iam", "DeleteUserPolicy", None, {"UserName": user, "PolicyName": self.policy_name})
        return planned(
            self,
            finding,
            user,
            f"{self.title.split(':')[0].lower()} for IAM user {user}",
            [put],
            [delete],
            region=None,
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        return {"inline_policies": _user_policies(clients, planned)}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return self.policy_name in state["inline_policies"]

    def undone(self, planned: PlannedAction, applied_before: State, state: State) -> bool:
        # Other actions may add their own inline policies to the same user; only ours must be gone.
        return self.policy_name not in state["inline_policies"]


class UserQuarantine(_InlinePolicy):
    name = "iam-user-quarantine"
    title = "Quarantine: an inline deny-all policy on the IAM user"
    permissions = ("iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:ListUserPolicies")
    policy_name = QUARANTINE_POLICY_NAME
    triggers: ClassVar[Triggers] = {"persistence": False}
    """A user created (or given a password) recently may be the intruder's, or a colleague's."""
    default = False

    def document(self, now: datetime) -> dict[str, Any]:
        return DENY_ALL


class UserRevokeSessions(_InlinePolicy):
    name = "iam-user-revoke-sessions"
    title = "Revoke sessions: deny every request signed with a token issued before now"
    permissions = ("iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:ListUserPolicies")
    policy_name = REVOKE_POLICY_NAME
    triggers: ClassVar[Triggers] = {"key-owner": True, "quarantine-policy": True}
    checklist_items = ("revoke-sessions",)

    def proposes(self, finding: Finding) -> bool:
        """The owner of the leaked key, named by the key's finding or by AWS's quarantine of the user."""
        return (
            finding.check in self.triggers
            and finding.data.get("resource_type") in ("iam-user", "access-key")
            and bool(finding.data.get("user_name"))
        )

    def document(self, now: datetime) -> dict[str, Any]:
        issued_before = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NoticeDeskRevokeOlderSessions",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}},
                }
            ],
        }


class LoginProfileRemove(Action):
    name = "login-profile-remove"
    resource_type = "iam-user"
    title = "Remove the IAM user's console password (login profile)"
    permissions = ("iam:DeleteLoginProfile", "iam:GetLoginProfile")
    reversible = False
    undo_note = (
        "None: a deleted password cannot be restored; CreateLoginProfile with a new password "
        "and PasswordResetRequired gives access back."
    )
    triggers: ClassVar[Triggers] = {"persistence": False}
    default = False

    def proposes(self, finding: Finding) -> bool:
        """A console password given recently (``login_profile``: when it was created)."""
        return super().proposes(finding) and bool(finding.data.get("login_profile"))

    def shows_unfixed(self, finding: Finding) -> bool:
        return True  # proposed only while the user has a console password

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        user = str(finding.data.get("user_name") or finding.resource_id)
        call = Call("iam", "DeleteLoginProfile", None, {"UserName": user})
        return planned(
            self,
            finding,
            user,
            f"remove the console password of IAM user {user}",
            [call],
            [],
            region=None,
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        try:
            read_call(
                clients, "iam", "GetLoginProfile", None, planned.account_id, UserName=planned.resource_id
            )
        except ActionFailed as error:
            if error_code(error) == "NoSuchEntity":
                return {"login_profile": False}
            raise
        return {"login_profile": True}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return state["login_profile"] is False


class DetachPolicy(Action):
    name = "detach-policy"
    resource_type = "iam-user"
    title = "Detach managed policies from an IAM user (refused for AWSCompromisedKeyQuarantine*)"
    permissions = ("iam:DetachUserPolicy", "iam:AttachUserPolicy", "iam:ListAttachedUserPolicies")
    undo_note = "AttachUserPolicy attaches each policy again."
    triggers: ClassVar[Triggers] = {"quarantine-policy": False}
    """Planned for AWS's quarantine only to be refused at once: the plan warns whoever wants it gone."""
    default = False

    def proposes(self, finding: Finding) -> bool:
        return super().proposes(finding) and bool(finding.data.get("policy_arns"))

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        user = str(finding.data.get("user_name") or finding.resource_id)
        arns = sorted(str(arn) for arn in finding.data["policy_arns"])

        def each(operation: str) -> list[Call]:
            return [Call("iam", operation, None, {"UserName": user, "PolicyArn": arn}) for arn in arns]

        return planned(
            self,
            finding,
            user,
            f"detach {', '.join(arn.rsplit('/', 1)[-1] for arn in arns)} from IAM user {user}",
            each("DetachUserPolicy"),
            each("AttachUserPolicy"),
            region=None,
            policy_arns=arns,
        )

    def refusal(self, planned: PlannedAction) -> str | None:
        names = [str(arn).rsplit("/", 1)[-1] for arn in planned.params.get("policy_arns", ())]
        if any(name.startswith(AWS_QUARANTINE_NAME) for name in names):
            return (
                "NoticeDesk never detaches AWSCompromisedKeyQuarantine*: AWS attached it to contain a "
                "leaked key. Secure the account (rotate keys, remove what the attacker created), then "
                "answer the support case; AWS asks you to leave the policy until the case is resolved."
            )
        return None

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        listed = read_call(
            clients, "iam", "ListAttachedUserPolicies", None, planned.account_id, UserName=planned.resource_id
        )
        return {"attached": sorted(policy["PolicyArn"] for policy in listed["AttachedPolicies"])}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return not set(planned.params["policy_arns"]) & set(state["attached"])


IAM_ACTIONS: tuple[Action, ...] = (
    AccessKeyDeactivate(),
    AccessKeyRotate(),
    AccessKeyDelete(),
    UserQuarantine(),
    UserRevokeSessions(),
    LoginProfileRemove(),
    DetachPolicy(),
)
