"""What every fix is made of: the calls it makes, the plan it proposes, the outcome it reports.

An ``Action`` declares its name, the resource type it fixes, the IAM permissions it needs, the
runbook checklist items it completes and how it is undone (or why it cannot be). ``plan`` is pure:
a finding (and the clock) in, a ``PlannedAction`` out, with the exact API calls. ``apply`` and
``undo`` read the resource before, make the calls, read it again and say whether the wanted state
was reached. Only the runner in ``noticedesk.remediation.runner`` calls them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from botocore import xform_name
from botocore.exceptions import ClientError

from noticedesk.aws.findings import Finding, mask_key
from noticedesk.aws.gather import AWS_FAILURES, brief
from noticedesk.errors import AwsError

OutcomeStatus = Literal["applied", "failed", "refused"]
State = dict[str, Any]
Triggers = Mapping[str, bool]
"""Diagnosis check id → whether that check's failing finding may make the action a default one."""
_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


class Clients(Protocol):
    """What actions need from ``ClientFactory``: a client per service, region and account."""

    def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any: ...


@dataclass(frozen=True)
class Call:
    """One AWS API call exactly as it will be made: service, operation (API name), region, parameters."""

    service: str
    operation: str
    region: str | None
    params: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "region": self.region,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Call:
        return cls(data["service"], data["operation"], data.get("region"), dict(data.get("params", {})))

    def describe(self) -> str:
        params = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{self.service}.{self.operation}({params})"


@dataclass(frozen=True)
class PlannedAction:
    """One proposed change to one resource: pure data, shown before anything happens."""

    action: str
    resource_type: str
    resource_id: str
    region: str | None
    account_id: str | None
    summary: str
    calls: tuple[Call, ...]
    undo: tuple[Call, ...]
    undo_note: str
    """How undo works, or why there is none."""
    default: bool = True
    """Applied by ``fix apply`` without ``--action``; optional actions must be named."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The ids the action needs at apply time (user name, volume ids, addresses …)."""
    changed_back: bool = False
    """Its finding shows the resource as it was before this fix (see ``Action.shows_unfixed``);
    known when proposed from a diagnosis, not stored."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.action, self.resource_id, self.region or "")


@dataclass(frozen=True)
class Outcome:
    """What happened: the calls made, the state before and after, and whether it was verified."""

    status: OutcomeStatus
    calls: tuple[Call, ...] = ()
    before: State = field(default_factory=dict)
    after: State = field(default_factory=dict)
    verified: bool = False
    error: str | None = None
    undo: tuple[Call, ...] | None = None
    """The undo calls as resolved at apply time (ids only known then), else the planned ones."""
    shown_once: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """(label, secret) to show once on the terminal; never stored, never logged."""


class ActionFailed(Exception):
    """Raised inside an action when a call or read fails; the runner turns it into an outcome."""


def run_call(clients: Clients, call: Call, account_id: str | None) -> dict[str, Any]:
    """Make one call. Never with ``DryRun``: a dry run that passes proves nothing (accounts on hold)."""
    try:
        # Getting the client may assume a role or find the credentials are another account's.
        client = clients.client(call.service, call.region, account_id)
        response: dict[str, Any] = getattr(client, xform_name(call.operation))(**call.params)
    except (*AWS_FAILURES, AwsError) as error:
        # Unparsable answers (a proxy's or a fake AWS's HTML page) fail the action like an AWS error.
        raise ActionFailed(f"{call.service}.{call.operation}: {brief(str(error))}") from error
    return response


def read_call(
    clients: Clients, service: str, operation: str, region: str | None, account_id: str | None, **params: Any
) -> dict[str, Any]:
    return run_call(clients, Call(service, operation, region, params), account_id)


def error_code(error: BaseException) -> str | None:
    cause = error.__cause__
    if isinstance(cause, ClientError):
        code: str | None = cause.response.get("Error", {}).get("Code")
        return code
    return None


def mask_secrets(value: Any) -> Any:
    """Mask access key ids anywhere in a JSON-like value: output meant for people shows AKIA…WXYZ."""
    if isinstance(value, str):
        return _ACCESS_KEY.sub(lambda match: mask_key(match.group(0)), value)
    if isinstance(value, Mapping):
        return {mask_secrets(key): mask_secrets(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    return value


class Action:
    """Base class of every fix. Subclasses set the class attributes and write ``plan`` and ``read``."""

    name: ClassVar[str]
    resource_type: ClassVar[str]
    title: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]
    """IAM actions needed to read, apply and undo (checked against botocore's service models)."""
    undo_note: ClassVar[str]
    """How undo works, or why there is none (every action says one or the other)."""
    reversible: ClassVar[bool] = True
    triggers: ClassVar[Triggers] = {}
    """Diagnosis check id → whether a failing finding of that check may make this a default action.

    Only the failing findings of these checks propose the action (``noticedesk checks`` lists the
    ids); ``False`` makes it optional there (a person names it with ``--action``)."""
    default_kinds: ClassVar[frozenset[str] | None] = None
    """Case kinds in which this action may be a default one (None: any kind)."""
    checklist_items: ClassVar[tuple[str, ...]] = ()
    """Runbook checklist keys this action completes (skipped when the case has no such item)."""
    default: ClassVar[bool] = True
    second_step: ClassVar[bool] = False
    """Only in a run without another action on the same resource (delete after deactivate)."""

    def proposes(self, finding: Finding) -> bool:
        """A failing finding of a trigger check, about the kind of resource this action changes."""
        return finding.check in self.triggers and finding.data.get("resource_type") == self.resource_type

    def plan(self, finding: Finding, now: datetime) -> PlannedAction:
        raise NotImplementedError

    def shows_unfixed(self, finding: Finding) -> bool:
        """Whether this (proposing) finding shows the resource in the state this fix changes.

        If so, and the diagnosis came after the fix was applied, the resource was changed back
        (a key reactivated, an image shared again) and the fix is due again. False where the
        finding cannot tell (it fails for reasons the fix does not change): an applied fix stays
        applied."""
        return False

    def read(self, clients: Clients, planned: PlannedAction) -> State:
        """The state of the resource that this action changes (no secrets)."""
        raise NotImplementedError

    def achieved(self, planned: PlannedAction, state: State) -> bool:
        """Whether ``state`` (read back after the calls) is the state the action aimed for."""
        raise NotImplementedError

    def refusal(self, planned: PlannedAction) -> str | None:
        """A reason never to apply this plan, decided without AWS (None: allowed)."""
        return None

    def precondition(self, planned: PlannedAction, before: State) -> str | None:
        """A reason not to apply it given the state read just before (None: go ahead)."""
        return None

    def resolve_undo(
        self, planned: PlannedAction, before: State, after: State, made: tuple[Call, ...]
    ) -> tuple[Call, ...]:
        """The undo calls once the ids only known at apply time are known (default: as planned)."""
        return planned.undo

    def execute(
        self, clients: Clients, planned: PlannedAction, before: State
    ) -> tuple[tuple[Call, ...], tuple[tuple[str, str], ...]]:
        """Make the planned calls in order; actions whose calls depend on what they read override this."""
        made: list[Call] = []
        for call in planned.calls:
            run_call(clients, call, planned.account_id)
            made.append(call)
        return tuple(made), ()

    def apply(self, clients: Clients, planned: PlannedAction) -> Outcome:
        try:
            before = self.read(clients, planned)
        except ActionFailed as error:
            return Outcome("failed", error=f"could not read the resource before acting: {error}")
        problem = self.precondition(planned, before)
        if problem is not None:
            return Outcome("refused", before=before, after=before, error=problem)
        made: tuple[Call, ...] = ()
        try:
            made, shown_once = self.execute(clients, planned, before)
        except _Partial as partial:
            made, failure = partial.made, partial.error
            return self._after_failure(clients, planned, before, made, failure)
        except ActionFailed as error:
            return self._after_failure(clients, planned, before, made, error)
        try:
            after = self.read(clients, planned)
        except ActionFailed as error:
            return Outcome(
                "failed",
                made,
                before,
                error=f"calls made, but reading back failed: {error}",
                undo=self.resolve_undo(planned, before, {}, made),
                shown_once=shown_once,
            )
        verified = self.achieved(planned, after)
        return Outcome(
            "applied" if verified else "failed",
            made,
            before,
            after,
            verified,
            None if verified else "calls succeeded but the state read back is not the one aimed for",
            self.resolve_undo(planned, before, after, made),
            shown_once,
        )

    def _after_failure(
        self,
        clients: Clients,
        planned: PlannedAction,
        before: State,
        made: tuple[Call, ...],
        error: ActionFailed,
    ) -> Outcome:
        try:
            after = self.read(clients, planned)
        except ActionFailed:
            after = {}
        return Outcome(
            "failed", made, before, after, False, str(error), self.resolve_undo(planned, before, after, made)
        )

    def undone(self, planned: PlannedAction, applied_before: State, state: State) -> bool:
        """Whether undo brought the resource back to the state read before the action."""
        return state == applied_before

    def undo(
        self, clients: Clients, planned: PlannedAction, undo_calls: tuple[Call, ...], applied_before: State
    ) -> Outcome:
        try:
            before = self.read(clients, planned)
        except ActionFailed as error:
            return Outcome("failed", error=f"could not read the resource before undoing: {error}")
        made: list[Call] = []
        try:
            for call in undo_calls:
                run_call(clients, call, planned.account_id)
                made.append(call)
            after = self.read(clients, planned)
        except ActionFailed as error:
            return Outcome("failed", tuple(made), before, error=str(error))
        verified = self.undone(planned, applied_before, after)
        return Outcome(
            "applied" if verified else "failed",
            tuple(made),
            before,
            after,
            verified,
            None if verified else "undo calls succeeded but the state is not the one before",
        )


class _Partial(Exception):
    def __init__(self, made: tuple[Call, ...], error: ActionFailed) -> None:
        super().__init__(str(error))
        self.made = made
        self.error = error


def partial_failure(made: list[Call], error: ActionFailed) -> _Partial:
    """For actions that override ``execute``: fail, keeping the calls already made for the audit."""
    return _Partial(tuple(made), error)


def planned(
    action: Action,
    finding: Finding,
    resource_id: str,
    summary: str,
    calls: list[Call],
    undo: list[Call],
    *,
    region: str | None = None,
    default: bool | None = None,
    **params: Any,
) -> PlannedAction:
    """Build the plan of ``action`` for ``finding`` (a helper so each plan reads as one statement)."""
    return PlannedAction(
        action=action.name,
        resource_type=action.resource_type,
        resource_id=resource_id,
        region=region if region is not None else finding.region,
        account_id=finding.account_id,
        summary=summary,
        calls=tuple(calls),
        undo=tuple(undo),
        undo_note=action.undo_note,
        default=action.default if default is None else default,
        params=params,
    )
