"""The one guarded runner: every fix goes through ``Remediation.apply`` or ``Remediation.undo``.

In order, and nowhere else:
1. authenticity gate — the case's notice must be ``verified``, or a person says they checked it
   (``--i-have-verified-this-notice``), which is recorded with their name and ticks the runbook's
   ``confirm-notice`` step;
2. blast-radius limit — no more than ``[fixes] max_resources_per_run`` resources in one run;
3. explicit confirmation — without it, nothing is called: the plan is returned as a dry run;
4. per action: refusals (never detach AWS's quarantine; second steps run alone), the intent
   committed to the audit trail BEFORE the first call, the calls, the state read back and
   verified, the outcome committed AFTER, the runbook checklist item ticked when all its
   actions are done. A failed action stops the rest unless ``keep_going``.

``DryRun=True`` is never used as proof: an account on hold passes dry runs and fails real calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from noticedesk.aws.actions import get_action, mask_secrets, propose
from noticedesk.aws.actions.base import Clients
from noticedesk.aws.caller import quarantined_caller
from noticedesk.cases.queries import check_item
from noticedesk.config import FixesConfig
from noticedesk.errors import AuthenticityError, AwsError, NotFoundError, RemediationError
from noticedesk.remediation.audit import ActionRecord, case_records, get_record
from noticedesk.remediation.claims import Claimer, Heartbeat, release
from noticedesk.remediation.diagnoses import latest_diagnosis
from noticedesk.remediation.recording import (
    event,
    sync_plan,
    write_intent,
    write_outcome,
    write_refusal,
    write_undo,
    write_undo_intent,
)
from noticedesk.store.tables import cases, checklist_items

log = logging.getLogger(__name__)
OVERRIDE_REASON = "notice not verified"
CONFIRM_STEP = "confirm-notice"
"""The runbook step a person completes by passing ``--i-have-verified-this-notice``."""
ACTIVE_STATUSES = ("new", "acknowledged", "diagnosing")
Reveal = Callable[[str, str], None]


def _reveal_nowhere(label: str, secret: str) -> None:
    """Default for library use: a new secret is dropped unless a terminal asked to see it."""


@dataclass(frozen=True)
class ApplyRequest:
    action_ids: tuple[str, ...] = ()
    confirmed: bool = False
    verified_override: bool = False
    keep_going: bool = False
    requested_by: str = "noticedesk"


@dataclass
class RunReport:
    case_id: int
    dry_run: bool
    selected: list[ActionRecord]
    results: list[ActionRecord] = field(default_factory=list)
    skipped: list[tuple[ActionRecord, str]] = field(default_factory=list)
    override: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        return any(record.status == "failed" for record in self.results)


@dataclass
class Remediation:
    engine: Engine
    clients: Clients
    config: FixesConfig
    now: Callable[[], datetime]
    reveal: Reveal = _reveal_nowhere
    claimer: Claimer = field(default_factory=Claimer.this_process)
    on_action: Callable[[ActionRecord], None] = lambda _record: None
    """Told of each action once it ran (a terminal's progress bar)."""

    def plan(self, case_id: int) -> list[ActionRecord]:
        """The actions the case's latest diagnosis calls for (stored as `planned`, nothing applied).

        It follows the account as the latest diagnosis read it: an applied fix whose resource was
        found changed back since is planned again, and the runbook steps it had ticked reopen."""
        now = self.now()
        with self.engine.begin() as connection:
            kind = connection.execute(select(cases.c.kind).where(cases.c.id == case_id)).scalar()
            if kind is None:
                raise NotFoundError(f"no case {case_id}")
            diagnosed_at, latest = latest_diagnosis(connection, case_id)
            if diagnosed_at is None:
                raise RemediationError(
                    f"case {case_id} has not been diagnosed yet, so there is nothing to plan: "
                    f"run `noticedesk diagnose {case_id}` first"
                )
            records = sync_plan(connection, case_id, propose(latest, now, kind), now, diagnosed_at)
        for record in records:
            if record.supersedes and record.status == "planned" and record.started_at is None:
                self._reopen_checklist(record, "noticedesk")
        return records

    def apply(self, case_id: int, request: ApplyRequest) -> RunReport:
        override = self._gate(case_id, request)
        planned = self.plan(case_id)
        selected, skipped = _select(planned, request.action_ids)
        resources = {(r.plan.resource_type, r.plan.resource_id, r.plan.region) for r in selected}
        limit = self.config.max_resources_per_run
        if len(resources) > limit:
            raise RemediationError(
                f"this run would change {len(resources)} resources, over the limit of {limit} "
                "([fixes] max_resources_per_run): pick actions with --action or raise the limit"
            )
        report = RunReport(case_id, not request.confirmed, selected, skipped=skipped, override=override)
        if not request.confirmed:
            return report
        self._reach(case_id, selected)
        if override is not None:
            self._tick_open(case_id, CONFIRM_STEP, request.requested_by)
        for position, record in enumerate(selected):
            result = self._apply_one(record, selected, request.requested_by, override)
            self.on_action(record)
            if result is None:
                report.skipped.append((record, _TAKEN))
                continue
            report.results.append(result)
            if result.status == "failed" and not request.keep_going:
                report.skipped += [
                    (rest, f"not run: {record.id} failed") for rest in selected[position + 1 :]
                ]
                break
        return report

    def _reach(self, case_id: int, selected: list[ActionRecord]) -> None:
        """Reach each account of the run (assume the role) before any intent is written: a run
        that cannot act there fails once, in one line, and no action is recorded as failed."""
        for account_id in sorted({r.plan.account_id for r in selected if r.plan.account_id}):
            try:
                self.clients.client("sts", None, account_id)
            except AwsError as error:
                raise RemediationError(
                    f"case {case_id}: cannot act in account {account_id}: {error}; nothing was applied"
                ) from error
            refusal = quarantined_caller(self.clients, account_id)
            if refusal is not None:
                raise RemediationError(
                    f"case {case_id}: not acting in {account_id}: {refusal}; nothing was applied"
                )

    def _gate(self, case_id: int, request: ApplyRequest) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            authenticity = connection.execute(
                select(cases.c.authenticity).where(cases.c.id == case_id)
            ).scalar()
        if authenticity is None:
            raise NotFoundError(f"no case {case_id}")
        if authenticity == "verified":
            return None
        if not request.verified_override:
            raise AuthenticityError(
                f"case {case_id}: the notice is {authenticity}, not verified; check it is really from AWS "
                "(for example in the console or the support case), then pass --i-have-verified-this-notice"
            )
        return {"by": request.requested_by, "reason": OVERRIDE_REASON, "authenticity": authenticity}

    def _apply_one(
        self, record: ActionRecord, selected: list[ActionRecord], who: str, override: dict[str, Any] | None
    ) -> ActionRecord | None:
        """Apply one action; ``None`` when another run took it first (nothing called).

        The claim's lease is renewed on each AWS call; should this run stop halfway (Ctrl-C, an
        error), the lease ends at once and the action reads as interrupted."""
        action = get_action(record.action)
        reason = action.refusal(record.plan)
        if (
            reason is None
            and action.second_step
            and any(
                other.id != record.id and other.plan.resource_id == record.plan.resource_id
                for other in selected
            )
        ):
            reason = f"{action.name} is a second step: apply it in a run of its own, after the first one"
        if reason is not None:
            with self.engine.begin() as connection:
                return write_refusal(connection, record, reason, who, self.now())
        with self.engine.begin() as connection:
            claimed = write_intent(connection, record, who, override, self.claimer, self.now())
            if claimed is None:
                log.info("%s: taken by another run", record.id)
                return None
            if record.interrupted:  # a person named it after its run stopped halfway: on the timeline
                started = record.started_at.isoformat() if record.started_at else "?"
                summary = (
                    f"{record.id} was interrupted (started {started} by {record.claimed_by}, no outcome); "
                    f"applied again by {who}"
                )
                event(connection, record, self.now(), "action-interrupted", summary, actor=who)
        log.info("applying %s (%s on %s)", record.id, record.action, mask_secrets(record.plan.resource_id))
        with self._holding(record.id):
            outcome = action.apply(self._heartbeat(record.id), record.plan)
        for label, secret in outcome.shown_once:
            self.reveal(label, secret)
        with self.engine.begin() as connection:
            done = write_outcome(connection, claimed, outcome, who, self.now())
            if done.status == "applied":
                connection.execute(
                    update(cases)
                    .where(cases.c.id == record.case_id, cases.c.status.in_(ACTIVE_STATUSES))
                    .values(status="remediating", updated_at=self.now())
                )
        log.info("%s: %s%s", record.id, done.status, f" ({done.error})" if done.error else "")
        if done.status == "applied":
            self._tick_checklist(done, who)
        return done

    def _heartbeat(self, action_id: str) -> Heartbeat:
        return Heartbeat(self.clients, self.engine, action_id, self.claimer, self.now)

    @contextmanager
    def _holding(self, action_id: str) -> Iterator[None]:
        """Around the AWS calls of a claimed action: if they stop halfway, end the lease at once."""
        try:
            yield
        except BaseException:
            try:
                with self.engine.begin() as connection:
                    release(connection, action_id, self.claimer)
            except Exception:  # the store itself may be what failed: the lease then runs out
                log.exception("%s: could not end the claim's lease", action_id)
            raise

    def _tick_checklist(self, done: ActionRecord, who: str) -> None:
        """Tick each item this action maps to, once every default action mapping to it is applied."""
        with self.engine.connect() as connection:
            records = case_records(connection, done.case_id, self.now())
            open_items = _item_keys(connection, done.case_id, done=False)
        for item in get_action(done.action).checklist_items:
            if item not in open_items:
                continue  # the case's runbook has no such step, or it is already done
            pending = [
                r
                for r in records
                if r.plan.default
                and item in get_action(r.action).checklist_items
                and r.status not in ("applied", "refused")
            ]
            if not pending:
                check_item(self.engine, done.case_id, item, who, self.now())

    def _tick_open(self, case_id: int, item: str, who: str) -> None:
        """Tick one runbook step if the case has it and it is still open."""
        with self.engine.connect() as connection:
            still_open = connection.execute(
                select(checklist_items.c.id).where(
                    checklist_items.c.case_id == case_id,
                    checklist_items.c.item_key == item,
                    checklist_items.c.done_at.is_(None),
                )
            ).first()
        if still_open is not None:
            check_item(self.engine, case_id, item, who, self.now())

    def undo(self, action_id: str, confirmed: bool, requested_by: str) -> tuple[ActionRecord, bool]:
        """Revert one applied action; without confirmation, return it unchanged (a dry run)."""
        with self.engine.connect() as connection:
            record = get_record(connection, action_id, self.now())
        action = get_action(record.action)
        if record.status != "applied":
            raise RemediationError(f"{action_id} is {record.status}: only an applied action can be undone")
        if not record.plan.undo:
            raise RemediationError(f"{action_id} ({record.action}) cannot be undone: {record.plan.undo_note}")
        if record.undo_in_progress:
            raise RemediationError(_undoing(record))
        if not confirmed:
            return record, False
        self._reach(record.case_id, [record])
        started = self.now()
        with self.engine.begin() as connection:
            if not write_undo_intent(connection, record, requested_by, self.claimer, started):
                taken = get_record(connection, action_id, self.now())
                raise RemediationError(
                    _undoing(taken) if taken.undo_in_progress else _TAKEN_UNDO.format(taken)
                )
        with self._holding(action_id):
            outcome = action.undo(
                self._heartbeat(action_id), record.plan, record.plan.undo, record.before or {}
            )
        with self.engine.begin() as connection:
            done = write_undo(connection, record, outcome, requested_by, started, self.now())
        if done.status == "undone":
            self._reopen_checklist(done, requested_by)
        return done, True

    def _reopen_checklist(self, undone: ActionRecord, who: str) -> None:
        """An undone fix no longer completes its runbook step: reopen the items it had ticked."""
        with self.engine.connect() as connection:
            ticked = _item_keys(connection, undone.case_id, done=True)
        for item in get_action(undone.action).checklist_items:
            if item in ticked:
                check_item(self.engine, undone.case_id, item, who, self.now(), done=False)


def _select(
    planned: list[ActionRecord], action_ids: tuple[str, ...]
) -> tuple[list[ActionRecord], list[tuple[ActionRecord, str]]]:
    """Named actions (any, in plan order), or every default one still to do.

    A name of an applied action planned again (its resource was found changed back) stands for
    the new one."""
    if action_ids:
        action_ids = tuple(_latest_attempt(planned, action_id) for action_id in action_ids)
        known = {record.id for record in planned}
        unknown = [action_id for action_id in action_ids if action_id not in known]
        if unknown:
            raise NotFoundError(f"not in this case's plan: {', '.join(unknown)} (see `noticedesk fix plan`)")
        chosen = [record for record in planned if record.id in action_ids]
    else:
        chosen = [
            record for record in planned if record.plan.default and record.status in ("planned", "failed")
        ]
    selected: list[ActionRecord] = []
    skipped: list[tuple[ActionRecord, str]] = []
    for record in chosen:
        if record.status == "applied":
            skipped.append((record, "already applied"))
        elif record.in_progress:
            skipped.append((record, _applying(record)))
        elif record.interrupted and not action_ids:
            skipped.append((record, _interrupted(record)))
        else:
            selected.append(record)
    return selected, skipped


_TAKEN = "another run started it meanwhile (applying it now, or done): see `noticedesk fix plan`"
_TAKEN_UNDO = "{0.id}: another `fix undo` took it meanwhile (now {0.status}): see `noticedesk fix plan`"


def _latest_attempt(planned: list[ActionRecord], action_id: str) -> str:
    """The action planned again for ``action_id`` (and again, if changed back more than once)."""
    successor = {record.supersedes: record.id for record in planned if record.supersedes}
    seen: set[str] = set()
    while action_id in successor and action_id not in seen:
        seen.add(action_id)
        action_id = successor[action_id]
    return action_id


def _since(started: datetime | None) -> str:
    return started.isoformat() if started else "?"


def _applying(record: ActionRecord) -> str:
    return (
        f"being applied now by {record.claimed_by}, since {_since(record.started_at)}: "
        "not run twice (see `noticedesk fix plan`)"
    )


def _undoing(record: ActionRecord) -> str:
    return (
        f"{record.id} is being undone now by {record.claimed_by}, since "
        f"{_since(record.undo_started_at)}: not undone twice (see `noticedesk fix plan`)"
    )


def _interrupted(record: ActionRecord) -> str:
    return (
        f"interrupted: a run started it at {_since(record.started_at)} and never recorded the outcome; "
        "the resource may already be changed. Check it in AWS, then apply it by name "
        f"(--action {record.id}) if still needed"
    )


def _item_keys(connection: Connection, case_id: int, *, done: bool) -> set[str]:
    """The keys of the case's checklist items that are done (or still open)."""
    done_at = checklist_items.c.done_at
    query = select(checklist_items.c.item_key).where(
        checklist_items.c.case_id == case_id, done_at.is_not(None) if done else done_at.is_(None)
    )
    return set(connection.execute(query).scalars())
