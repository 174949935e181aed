"""The audit trail of fixes as written: the plan synced into the ``actions`` table, the intent
before a fix runs, its outcome or refusal after, the undo; each with its event on the case timeline.

Full resource ids are kept in the table (undo needs them); the timeline shows access key ids masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from noticedesk.aws.actions import Outcome, PlannedAction, get_action, mask_secrets
from noticedesk.cases.timeline import record as record_event
from noticedesk.notify.emitters import action_event
from noticedesk.notify.outbox import enqueue
from noticedesk.remediation.audit import REUSABLE, ActionRecord, case_records, get_record
from noticedesk.remediation.claims import Claimer
from noticedesk.store.tables import actions


def _plan_values(plan: PlannedAction) -> dict[str, Any]:
    return {
        "summary": plan.summary,
        "is_default": plan.default,
        "params": dict(plan.params),
        "calls": [call.to_json() for call in plan.calls],
        "undo": [call.to_json() for call in plan.undo],
        "undo_note": plan.undo_note,
    }


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
    outcome = _TOLD.get(type_)
    if outcome is not None:  # told in the same transaction as the timeline event
        told = action_event(
            outcome,
            record.id,
            record.case_id,
            record.plan.account_id,
            action=record.plan.action,
            resource=str(mask_secrets(record.plan.resource_id)),
            error=str(mask_secrets(record.error)) if record.error else None,
            at=now,
        )
        enqueue(connection, told, now=now)


_TOLD = {"action-applied": "applied", "action-failed": "failed", "action-undone": "undone"}
