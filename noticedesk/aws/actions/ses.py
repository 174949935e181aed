"""Fixes for SES (regional): pause account sending, account-level suppression, suppress addresses."""

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
    error_code,
    planned,
    read_call,
)
from noticedesk.aws.findings import Finding

REASONS = ("BOUNCE", "COMPLAINT")


def _account(clients: Clients, planned: PlannedAction) -> dict[str, Any]:
    return read_call(clients, "sesv2", "GetAccount", planned.region, planned.account_id)


def _resource(finding: Finding) -> str:
    return f"ses:{finding.region}"


class SesPauseSending(Action):
    name = "ses-pause-sending"
    resource_type = "ses-account"
    title = "Pause SES sending for the account in one region"
    permissions = ("ses:PutAccountSendingAttributes", "ses:GetAccount")
    undo_note = "PutAccountSendingAttributes SendingEnabled=true (works for a manual pause, not an AWS one)."
    triggers: ClassVar[Triggers] = {"ses-account": False, "ses-reputation": False}
    """Never a default: it stops transactional mail too; a person decides (the runbook holds bulk sends)."""
    checklist_items = ("pause-bulk-sends",)
    default = False

    def proposes(self, finding: Finding) -> bool:
        """Not when SES (or AWS) has already paused sending in that region."""
        return super().proposes(finding) and finding.data.get("sending_enabled") is not False

    def shows_unfixed(self, finding: Finding) -> bool:
        return finding.data.get("sending_enabled") is True

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        def sending(enabled: bool) -> Call:
            return Call("sesv2", "PutAccountSendingAttributes", finding.region, {"SendingEnabled": enabled})

        return planned(
            self,
            finding,
            _resource(finding),
            f"pause SES sending in {finding.region}",
            [sending(False)],
            [sending(True)],
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        return {"sending_enabled": bool(_account(clients, planned).get("SendingEnabled"))}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return state["sending_enabled"] is False


class SesAccountSuppression(Action):
    name = "ses-account-suppression"
    resource_type = "ses-account"
    title = "Enable the account-level suppression list for BOUNCE and COMPLAINT"
    permissions = ("ses:PutAccountSuppressionAttributes", "ses:GetAccount")
    undo_note = "PutAccountSuppressionAttributes with the reasons read before."
    triggers: ClassVar[Triggers] = {"ses-suppression": True}
    checklist_items = ("account-suppression-list",)

    def proposes(self, finding: Finding) -> bool:
        enabled = set(finding.data.get("suppressed_reasons") or ())
        return super().proposes(finding) and not set(REASONS) <= enabled

    def shows_unfixed(self, finding: Finding) -> bool:
        return True  # proposed only while a reason is missing from the list

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        previous = sorted(finding.data.get("suppressed_reasons") or ())
        return planned(
            self,
            finding,
            _resource(finding),
            f"suppress addresses that bounce or complain, account-wide in {finding.region}",
            [
                Call(
                    "sesv2",
                    "PutAccountSuppressionAttributes",
                    finding.region,
                    {"SuppressedReasons": list(REASONS)},
                )
            ],
            [
                Call(
                    "sesv2",
                    "PutAccountSuppressionAttributes",
                    finding.region,
                    {"SuppressedReasons": previous},
                )
            ],
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        attributes = _account(clients, planned).get("SuppressionAttributes", {})
        return {"suppressed_reasons": sorted(attributes.get("SuppressedReasons", []))}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return set(REASONS) <= set(state["suppressed_reasons"])

    def resolve_undo(
        self, planned: PlannedAction, before: State, after: State, made: tuple[Call, ...]
    ) -> tuple[Call, ...]:
        return (
            Call(
                "sesv2",
                "PutAccountSuppressionAttributes",
                planned.region,
                {"SuppressedReasons": list(before["suppressed_reasons"])},
            ),
        )


def _addresses(finding: Finding) -> list[tuple[str, str]]:
    """(address, reason) pairs from ``data.addresses``: strings, or {"address", "reason"} objects."""
    pairs: list[tuple[str, str]] = []
    for entry in finding.data.get("addresses") or ():
        if isinstance(entry, str):
            pairs.append((entry, str(finding.data.get("reason", "BOUNCE"))))
        else:
            pairs.append((str(entry["address"]), str(entry.get("reason", "BOUNCE")).upper()))
    return pairs


class SesSuppressAddresses(Action):
    name = "ses-suppress-addresses"
    resource_type = "ses-account"
    title = "Add addresses to the SES account-level suppression list"
    permissions = (
        "ses:PutSuppressedDestination",
        "ses:GetSuppressedDestination",
        "ses:DeleteSuppressedDestination",
    )
    undo_note = "DeleteSuppressedDestination for each address that was not suppressed before."
    triggers: ClassVar[Triggers] = {"ses-suppression": True}
    """Only a finding that lists ``addresses``: no check reads them yet (the SES feedback loop has them)."""
    checklist_items = ("suppress-bounced", "suppress-complained")

    def proposes(self, finding: Finding) -> bool:
        return super().proposes(finding) and bool(_addresses(finding))

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        pairs = _addresses(finding)
        calls = [
            Call(
                "sesv2",
                "PutSuppressedDestination",
                finding.region,
                {"EmailAddress": address, "Reason": reason},
            )
            for address, reason in pairs
        ]
        undo = [
            Call("sesv2", "DeleteSuppressedDestination", finding.region, {"EmailAddress": address})
            for address, _ in pairs
        ]
        return planned(
            self,
            finding,
            f"ses-suppression:{finding.region}",
            f"suppress {len(pairs)} address(es) account-wide in {finding.region}",
            calls,
            undo,
            addresses=[address for address, _ in pairs],
        )

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        suppressed: dict[str, str | None] = {}
        for address in planned.params["addresses"]:
            try:
                got = read_call(
                    clients,
                    "sesv2",
                    "GetSuppressedDestination",
                    planned.region,
                    planned.account_id,
                    EmailAddress=address,
                )
            except ActionFailed as error:
                if error_code(error) != "NotFoundException":
                    raise
                suppressed[address] = None
            else:
                suppressed[address] = got["SuppressedDestination"]["Reason"]
        return {"suppressed": suppressed}

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        return all(reason is not None for reason in state["suppressed"].values())

    def resolve_undo(
        self, planned: PlannedAction, before: State, after: State, made: tuple[Call, ...]
    ) -> tuple[Call, ...]:
        return tuple(
            call for call in planned.undo if before["suppressed"].get(call.params["EmailAddress"]) is None
        )


SES_ACTIONS: tuple[Action, ...] = (SesPauseSending(), SesAccountSuppression(), SesSuppressAddresses())
