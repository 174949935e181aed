"""The audit trail of fixes: rows of the ``actions`` table and their events on the case timeline.

Full resource ids are kept in the table (undo needs them); everything meant for people — the
timeline, the CLI — shows access key ids masked. Secret access keys never get here at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from noticedesk.aws.actions import Outcome, PlannedAction, get_action, mask_secrets
from noticedesk.aws.actions.base import Call
from noticedesk.cases.timeline import record as record_event
from noticedesk.errors import NotFoundError
from noticedesk.remediation.claims import Claimer, claim_alive
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


def _plan_values(plan: PlannedAction) -> dict[str, Any]:
    return {
        "summary": plan.summary,
        "is_default": plan.default,
        "params": dict(plan.params),
        "calls": [call.to_json() for call in plan.calls],
        "undo": [call.to_json() for call in plan.undo],
        "undo_note": plan.undo_note,
    }


def case_records(connection: Connection, case_id: int, now: datetime) -> list[ActionRecord]:
    rows = connection.execute(select(actions).where(actions.c.case_id == case_id).order_by(actions.c.number))
    return [_record(row, now) for row in rows]


def get_record(connection: Connection, action_id: str, now: datetime) -> ActionRecord:
    row = connection.execute(select(actions).where(actions.c.id == action_id)).first()
    if row is None:
        raise NotFoundError(f"no action {action_id}")
    return _record(row, now)


def sync_plan(
    connection: Connection,
    case_id: int,
    plans: list[PlannedAction],
    now: datetime,
    diagnosed_at: datetime | None = None,
) -> list[ActionRecord]:
    """Rows for these proposals: existing ones reused (refreshed while untouched), new ones added.

    An applied action is due again when a diagnosis made after it finds its resource changed back
    (a key reactivated, an image public again): a new row, linked to the applied one.
    """
    latest: dict[tuple[str, str, str], ActionRecord] = {}
    for existing in case_records(connection, case_id, now):
        latest[existing.plan.key] = existing
    number = connection.execute(
        select(func.coalesce(func.max(actions.c.number), 0)).where(actions.c.case_id == case_id)
    ).scalar_one()
    result: list[ActionRecord] = []
    for plan in plans:
        found = latest.get(plan.key)
        changed_back = found is not None and _changed_back(found, plan, diagnosed_at)
        if found is not None and found.status in REUSABLE and not changed_back:
            if found.status == "planned" and found.started_at is None:
                connection.execute(
                    update(actions).where(actions.c.id == found.id).values(**_plan_values(plan))
                )
                found = get_record(connection, found.id, now)
            result.append(found)
            continue
        number += 1
        refusal = get_action(plan.action).refusal(plan)
        action_id = f"A-{case_id}-{number}"
        connection.execute(
            insert(actions).values(
                id=action_id, case_id=case_id, number=number, action=plan.action,
                resource_type=plan.resource_type, resource_id=plan.resource_id, region=plan.region,
                account_id=plan.account_id, status="refused" if refusal else "planned", verified=False,
                error=refusal, planned_at=now, supersedes=found.id if changed_back and found else None,
                **_plan_values(plan),
            )
        )  # fmt: skip
        created = get_record(connection, action_id, now)
        summary = f"planned {action_id}: {plan.summary}"
        if created.supersedes:
            summary += f" (again: {created.supersedes} was applied, the resource was found changed back)"
        event(connection, created, now, "action-planned", summary)
        result.append(created)
    return result


def _changed_back(applied: ActionRecord, plan: PlannedAction, diagnosed_at: datetime | None) -> bool:
    """The applied action's resource, read by a diagnosis made after it, is as before the fix."""
    return (
        applied.status == "applied"
        and plan.changed_back
        and diagnosed_at is not None
        and applied.finished_at is not None
        and diagnosed_at > applied.finished_at
    )


def write_intent(
    connection: Connection,
    record: ActionRecord,
    requested_by: str,
    override: dict[str, Any] | None,
    claimer: Claimer,
    now: datetime,
) -> ActionRecord | None:
    """Written and committed before the first call: who asked, under which override, when.

    A claim, too: the row is taken only if no other run started it since ``record`` was read
    (its ``started_at`` unchanged), with this process's host, pid and lease on it. ``None``:
    another run has it (applying it now, or done).
    """
    started = actions.c.started_at
    claimed = connection.execute(
        update(actions)
        .where(
            actions.c.id == record.id,
            started.is_(None) if record.started_at is None else started == record.started_at,
        )
        .values(
            requested_by=requested_by, override=override, started_at=now, finished_at=None, error=None,
            **claimer.values(now),
        )
    )  # fmt: skip
    return get_record(connection, record.id, now) if claimed.rowcount == 1 else None


def write_outcome(
    connection: Connection, claimed: ActionRecord, outcome: Outcome, requested_by: str, now: datetime
) -> ActionRecord:
    """The outcome of this run, credited to the person who ran it. Should another run have taken
    the action over meanwhile (this one's lease ran out), the row stays theirs: this outcome goes to
    the timeline only."""
    action_id = claimed.id
    values: dict[str, Any] = {
        "status": outcome.status,
        "before": outcome.before,
        "after": outcome.after,
        "verified": outcome.verified,
        "error": outcome.error,
        "finished_at": now,
        "claim_until": None,
    }
    if outcome.calls:
        values["calls"] = [call.to_json() for call in outcome.calls]
    if outcome.undo is not None:
        values["undo"] = [call.to_json() for call in outcome.undo]
    written = connection.execute(
        update(actions)
        .where(actions.c.id == action_id, actions.c.started_at == claimed.started_at)
        .values(**values)
    )
    done = get_record(connection, action_id, now)
    type_ = "action-applied" if outcome.status == "applied" else "action-failed"
    verb = {"applied": "applied", "failed": "failed", "refused": "refused"}[outcome.status]
    if verb == "applied" and claimed.supersedes:
        verb = "re-applied"
    summary = f"{verb} {action_id}: {done.plan.summary}" + (f" ({outcome.error})" if outcome.error else "")
    if claimed.supersedes:
        summary += f"; the resource was found changed back after {claimed.supersedes}"
    if written.rowcount != 1:
        summary += f" (after another run, by {done.requested_by}, had taken it over)"
    event(
        connection, done, now, type_, summary, actor=requested_by, calls=outcome.calls or done.plan.calls,
        before=outcome.before, after=outcome.after, verified=outcome.verified,
    )  # fmt: skip
    return done


def write_refusal(
    connection: Connection, record: ActionRecord, reason: str, requested_by: str, now: datetime
) -> ActionRecord:
    connection.execute(
        update(actions)
        .where(actions.c.id == record.id)
        .values(status="refused", error=reason, requested_by=requested_by, finished_at=now)
    )
    done = get_record(connection, record.id, now)
    event(connection, done, now, "action-failed", f"refused {record.id}: {reason}", actor=requested_by)
    return done


def write_undo_intent(
    connection: Connection, record: ActionRecord, requested_by: str, claimer: Claimer, now: datetime
) -> bool:
    """Committed before the first undo call, so an interrupted undo still shows who started it.

    A claim, as the apply's intent is: taken only if the action is still applied and no other
    undo started since ``record`` was read. False: another run is undoing it (or has).
    """
    intent = {"requested_by": requested_by, "started_at": now.isoformat(), "status": "in-progress"}
    started = actions.c.undo_started_at
    claimed = connection.execute(
        update(actions)
        .where(
            actions.c.id == record.id,
            actions.c.status == "applied",
            started.is_(None) if record.undo_started_at is None else started == record.undo_started_at,
        )
        .values(undo_result=intent, undo_started_at=now, **claimer.values(now))
    )
    return claimed.rowcount == 1


def write_undo(
    connection: Connection,
    record: ActionRecord,
    outcome: Outcome,
    requested_by: str,
    started_at: datetime,
    now: datetime,
) -> ActionRecord:
    result = {
        "status": "done" if outcome.status == "applied" else "failed",
        "requested_by": requested_by,
        "started_at": started_at.isoformat(),
        "calls": [call.to_json() for call in outcome.calls],
        "before": outcome.before,
        "after": outcome.after,
        "verified": outcome.verified,
        "error": outcome.error,
    }
    values: dict[str, Any] = {"undo_result": result, "claim_until": None}
    if outcome.status == "applied":
        values.update(status="undone", undone_at=now)
    connection.execute(update(actions).where(actions.c.id == record.id).values(**values))
    done = get_record(connection, record.id, now)
    if outcome.status == "applied":
        event(
            connection,
            done,
            now,
            "action-undone",
            f"undone {record.id}: {record.plan.summary}",
            actor=requested_by,
            calls=outcome.calls,
            before=outcome.before,
            after=outcome.after,
            verified=outcome.verified,
        )
    else:
        event(
            connection,
            done,
            now,
            "action-failed",
            f"undo of {record.id} failed: {outcome.error}",
            actor=requested_by,
            calls=outcome.calls,
            before=outcome.before,
            after=outcome.after,
            verified=False,
        )
    return done


def event(
    connection: Connection,
    record: ActionRecord,
    now: datetime,
    type_: str,
    summary: str,
    actor: str | None = None,
    **overrides: Any,
) -> None:
    """One action-* event with the detail keys of the contract (access key ids masked)."""
    calls = overrides.get("calls", record.plan.calls)
    detail = {
        "action_id": record.id,
        "action": record.plan.action,
        "resource_id": record.plan.resource_id,
        "region": record.plan.region,
        "account_id": record.plan.account_id,
        "calls": [call.to_json() for call in calls],
        "before": overrides.get("before", record.before) or {},
        "after": overrides.get("after", record.after) or {},
        "verified": overrides.get("verified", record.verified),
        "override": record.override,
        "status": record.status,
    }
    if record.error:
        detail["error"] = record.error
    record_event(
        connection,
        record.case_id,
        now,
        type_,
        mask_secrets(summary),
        mask_secrets(detail),
        actor=actor or "noticedesk",
    )
