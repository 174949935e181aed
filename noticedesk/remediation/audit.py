"""The audit trail of fixes as read: each row of the ``actions`` table as an ``ActionRecord``
(``recording.py`` writes them, with their events on the case timeline).

Full resource ids are kept in the table (undo needs them); everything meant for people — the
timeline, the CLI — shows access key ids masked. Secret access keys never get here at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from noticedesk.aws.actions import PlannedAction, mask_secrets
from noticedesk.aws.actions.base import Call
from noticedesk.errors import NotFoundError
from noticedesk.remediation.claims import claim_alive
from noticedesk.store.tables import actions

REUSABLE = ("planned", "failed", "refused", "applied")
"""A proposal matching a row in one of these states is that row; after `undone` it is planned anew."""


@dataclass(frozen=True)
class ActionRecord:
    id: str
    case_id: int
    plan: PlannedAction
    status: str
    requested_by: str | None
    override: dict[str, Any] | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    verified: bool
    error: str | None
    undo_result: dict[str, Any] | None
    planned_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    undone_at: datetime | None
    claim_host: str | None = None
    claim_pid: int | None = None
    claim_until: datetime | None = None
    claim_alive: bool = False
    """Read with the clock: the claimer's lease still runs and its process is not known gone."""
    undo_started_at: datetime | None = None
    supersedes: str | None = None
    """The applied action this one repeats: its resource was found changed back."""

    @property
    def action(self) -> str:
        return self.plan.action

    @property
    def claimed_by(self) -> str:
        """Who holds it, for people: "yamada on host-1 (pid 4242)" (the undoer while undoing)."""
        undoing = (self.undo_result or {}).get("status") == "in-progress"
        who = (self.undo_result or {}).get("requested_by") if undoing else self.requested_by
        where = f" on {self.claim_host} (pid {self.claim_pid})" if self.claim_host else ""
        return f"{who or 'someone'}{where}"

    @property
    def in_progress(self) -> bool:
        """Started, no outcome yet, and its run is still at work (its claim is alive)."""
        return (
            self.status == "planned"
            and self.started_at is not None
            and self.finished_at is None
            and (self.claim_alive)
        )

    @property
    def interrupted(self) -> bool:
        """Started, never finished, and its run is gone: it stopped (a crash, a kill) between the
        intent and the outcome, and its lease ran out or its process is no more. What AWS holds may
        already be changed, and the state before it was never recorded: no run applies it again
        unless a person names it."""
        return (
            self.status == "planned"
            and self.started_at is not None
            and self.finished_at is None
            and not self.claim_alive
        )

    @property
    def undo_in_progress(self) -> bool:
        return (
            self.status == "applied"
            and self.claim_alive
            and (self.undo_result or {}).get("status") == "in-progress"
        )

    @property
    def shown_status(self) -> str:
        if self.in_progress:
            return "applying"
        if self.undo_in_progress:
            return "undoing"
        return "interrupted" if self.interrupted else self.status

    def to_json(self) -> dict[str, Any]:
        """For people and scripts: access key ids masked."""
        plan = self.plan
        masked: dict[str, Any] = mask_secrets(
            {
                "id": self.id,
                "case_id": self.case_id,
                "action": plan.action,
                "resource_type": plan.resource_type,
                "resource_id": plan.resource_id,
                "region": plan.region,
                "account_id": plan.account_id,
                "summary": plan.summary,
                "default": plan.default,
                "status": self.status,
                "interrupted": self.interrupted,
                "in_progress": self.in_progress or self.undo_in_progress,
                "supersedes": self.supersedes,
                "calls": [call.to_json() for call in plan.calls],
                "undo": [call.to_json() for call in plan.undo],
                "undo_note": plan.undo_note,
                "requested_by": self.requested_by,
                "override": self.override,
                "before": self.before,
                "after": self.after,
                "verified": self.verified,
                "error": self.error,
                "undo_result": self.undo_result,
                "planned_at": _iso(self.planned_at),
                "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at),
                "undone_at": _iso(self.undone_at),
            }
        )
        return masked


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _calls(data: list[dict[str, Any]]) -> tuple[Call, ...]:
    return tuple(Call.from_json(item) for item in data)


def _record(row: Any, now: datetime) -> ActionRecord:
    plan = PlannedAction(
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        region=row.region,
        account_id=row.account_id,
        summary=row.summary,
        calls=_calls(row.calls),
        undo=_calls(row.undo),
        undo_note=row.undo_note,
        default=row.is_default,
        params=row.params,
    )
    return ActionRecord(
        row.id, row.case_id, plan, row.status, row.requested_by, row.override, row.before, row.after,
        bool(row.verified), row.error, row.undo_result, row.planned_at, row.started_at, row.finished_at,
        row.undone_at, row.claim_host, row.claim_pid, row.claim_until,
        claim_alive(row.claim_host, row.claim_pid, row.claim_until, now), row.undo_started_at, row.supersedes,
    )  # fmt: skip


def case_records(connection: Connection, case_id: int, now: datetime) -> list[ActionRecord]:
    rows = connection.execute(select(actions).where(actions.c.case_id == case_id).order_by(actions.c.number))
    return [_record(row, now) for row in rows]


def get_record(connection: Connection, action_id: str, now: datetime) -> ActionRecord:
    row = connection.execute(select(actions).where(actions.c.id == action_id)).first()
    if row is None:
        raise NotFoundError(f"no action {action_id}")
    return _record(row, now)
