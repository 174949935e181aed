"""Everything a reply or a summary needs, read from the store once into a frozen ``ReplyContext``.

This is the only module of ``noticedesk.replies`` that touches the database; composing is pure.
It reads the contracts other features write: the case (``get_case``), its timeline (``diagnosis``
and ``action-*`` events), the ``findings`` rows of its latest diagnosis run, its checklist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any

from sqlalchemy import Engine, select

from noticedesk.aws.actions import get_action
from noticedesk.aws.findings import mask_key
from noticedesk.cases.queries import (
    CaseDetail,
    CaseSummary,
    ChecklistItem,
    TimelineEvent,
    case_messages,
    get_case,
)
from noticedesk.errors import NotFoundError
from noticedesk.notices.model import Facts
from noticedesk.store.tables import findings, messages

ACTION_EVENTS = ("action-applied", "action-failed", "action-undone")
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


def mask_keys(text: str) -> str:
    return _KEY_ID.sub(lambda match: mask_key(match[0]), text)


def addresses(action: str, check: str) -> bool:
    """Whether ``action`` is one the fixes catalogue proposes for a failure of ``check``."""
    try:
        return check in get_action(action).triggers
    except NotFoundError:  # an action this version does not know (an older store)
        return False


@dataclass(frozen=True)
class NoticeMail:
    """One message AWS sent about the case, as far as a reply needs it."""

    message_id: str | None
    subject: str
    from_address: str | None
    to_address: str | None
    """Where AWS sent the notice: the customer's own address, used as the reply's From."""
    sent_at: datetime | None
    received_at: datetime
    forwarded_by: str | None
    is_mail: bool
    stage: str | None


@dataclass(frozen=True)
class FindingRow:
    check: str
    status: str
    severity: str
    account_id: str | None
    region: str | None
    resource_id: str | None
    detail: str
    data: dict[str, Any]
    found_at: datetime


@dataclass(frozen=True)
class ActionRecord:
    """One ``action-applied`` / ``action-failed`` / ``action-undone`` timeline event."""

    at: datetime
    event: str
    action_id: str
    action: str
    resource_id: str | None
    region: str | None
    account_id: str | None
    verified: bool
    actor: str
    status: str | None = None
    """The action's status when the event was written: ``applied`` on an ``action-failed`` event
    means its undo failed, so the action still stands."""


@dataclass(frozen=True)
class FindingCounts:
    fail: int = 0
    error: int = 0
    passed: int = 0


@dataclass(frozen=True)
class ReplyContext:
    case: CaseSummary
    facts: Facts
    notices: tuple[NoticeMail, ...]
    timeline: tuple[TimelineEvent, ...]
    findings: tuple[FindingRow, ...]
    """The findings of the case's latest diagnosis run (earlier runs are superseded)."""
    counts: FindingCounts
    actions: tuple[ActionRecord, ...]
    checklist: tuple[ChecklistItem, ...]
    clock_note_en: str
    clock_note_ja: str
    title: dict[str, str] = field(default_factory=dict)
    """The kind's title per language, from its runbook (the one title ``case show`` shows too)."""

    @property
    def failed_findings(self) -> tuple[FindingRow, ...]:
        order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
        failed = [row for row in self.findings if row.status == "fail"]
        return tuple(sorted(failed, key=lambda row: order.get(row.severity, 5)))

    @property
    def diagnosed(self) -> bool:
        return bool(self.findings) or any(event.type == "diagnosis" for event in self.timeline)

    @property
    def latest_outcomes(self) -> tuple[ActionRecord, ...]:
        """The latest event of each action on each resource, in the order they happened.

        An action that failed and was then applied (a retry, a new attempt or a new action id for
        the same change) is done; one applied and then undone is undone; one re-applied after
        an undo stands again. Replies and summaries describe only these outcomes.
        """
        latest: dict[tuple[str, str | None, str | None], ActionRecord] = {}
        for record in sorted(self.actions, key=lambda record: record.at):  # stable: recorded order
            key = (record.action, record.resource_id, record.region)
            previous = latest.get(key)
            if record.event == "action-undone" and previous and previous.action_id != record.action_id:
                continue  # the undo of an older attempt does not undo a later one that stands
            if record.event == "action-failed" and record.status == "applied":
                continue  # an undo that failed: the action still stands
            latest.pop(key, None)  # re-inserted: ordered by the time of the latest event
            latest[key] = record
        return tuple(latest.values())

    @property
    def changed_back(self) -> tuple[ActionRecord, ...]:
        """Applied actions that a diagnosis run after them found undone on AWS: the key active
        again, the image public again. They are due again, and no reply may say they stand."""
        return tuple(
            record
            for record in self.latest_outcomes
            if record.event == "action-applied"
            and any(
                row.status == "fail"
                and row.found_at > record.at
                and mask_keys(row.resource_id or "") == mask_keys(record.resource_id or "")
                and addresses(record.action, row.check)
                for row in self.findings
            )
        )

    @property
    def effective_actions(self) -> tuple[ActionRecord, ...]:
        """Applied, not undone and not found changed back since: what the reply may say was done."""
        reverted = self.changed_back
        return tuple(
            record
            for record in self.latest_outcomes
            if record.event == "action-applied" and record not in reverted
        )

    @property
    def still_failed(self) -> tuple[ActionRecord, ...]:
        """Actions whose latest outcome is a failure: still to be repaired."""
        return tuple(record for record in self.latest_outcomes if record.event == "action-failed")

    @property
    def still_undone(self) -> tuple[ActionRecord, ...]:
        return tuple(record for record in self.latest_outcomes if record.event == "action-undone")

    @property
    def required_open(self) -> tuple[ChecklistItem, ...]:
        """Open checklist items a resolution reply waits for: all but the reply step itself."""
        return tuple(item for item in self.open_items if not item.key.startswith("reply"))

    @property
    def open_items(self) -> tuple[ChecklistItem, ...]:
        return tuple(item for item in self.checklist if item.done_at is None)

    @property
    def first_notice(self) -> NoticeMail | None:
        return self.notices[0] if self.notices else None

    @property
    def thread(self) -> tuple[str, ...]:
        """Message-IDs of the AWS mails of this case, oldest first (for References)."""
        return tuple(n.message_id for n in self.notices if n.is_mail and n.message_id and not n.forwarded_by)


def gather(engine: Engine, case_id: int, detail: CaseDetail | None = None) -> ReplyContext:
    """Read one case and everything recorded about it. Raises ``NotFoundError`` for no such case.

    ``detail``: the case as the caller read it already (a page showing the case, its reply and its
    summary reads it once)."""
    if detail is None:
        detail = get_case(engine, case_id)
    with engine.connect() as connection:
        message_rows = case_messages(
            connection,
            case_id,
            messages.c.message_id,
            messages.c.subject,
            messages.c.from_address,
            messages.c.raw,
            messages.c.format,
            messages.c.sent_at,
            messages.c.received_at,
            messages.c.forwarded_by,
            messages.c.stage,
        )
        finding_rows = connection.execute(
            select(findings).where(findings.c.case_id == case_id).order_by(findings.c.id)
        ).all()
    latest_run = max(finding_rows, key=lambda row: (row.found_at, row.id)).run_id if finding_rows else None
    latest = tuple(_finding(row) for row in finding_rows if row.run_id == latest_run)
    return ReplyContext(
        case=detail.summary,
        facts=detail.facts,
        notices=tuple(_notice(row) for row in message_rows),
        timeline=detail.timeline,
        findings=latest,
        counts=FindingCounts(
            fail=sum(1 for row in latest if row.status == "fail"),
            error=sum(1 for row in latest if row.status == "error"),
            passed=sum(1 for row in latest if row.status == "pass"),
        ),
        actions=tuple(_action(event) for event in detail.timeline if event.type in ACTION_EVENTS),
        checklist=detail.checklist,
        clock_note_en=detail.clock_note.get("en", ""),
        clock_note_ja=detail.clock_note.get("ja", ""),
        title=dict(detail.runbooks[0].title) if detail.runbooks else {},
    )


def _notice(row: Any) -> NoticeMail:
    is_mail = row.format == "mail"
    return NoticeMail(
        message_id=row.message_id,
        subject=row.subject or "",
        from_address=row.from_address,
        to_address=_first_recipient(row.raw) if is_mail and not row.forwarded_by else None,
        sent_at=row.sent_at,
        received_at=row.received_at,
        forwarded_by=row.forwarded_by,
        is_mail=is_mail,
        stage=row.stage,
    )


def _first_recipient(raw: bytes) -> str | None:
    headers = BytesHeaderParser().parsebytes(raw)
    addresses = [address for _, address in getaddresses([str(value) for value in headers.get_all("To", [])])]
    return next((address for address in addresses if "@" in address), None)


def _finding(row: Any) -> FindingRow:
    return FindingRow(
        check=row.check,
        status=row.status,
        severity=row.severity,
        account_id=row.account_id,
        region=row.region,
        resource_id=row.resource_id,
        detail=row.detail,
        data=dict(row.data or {}),
        found_at=row.found_at,
    )


def _action(event: TimelineEvent) -> ActionRecord:
    detail = event.detail
    return ActionRecord(
        at=event.at,
        event=event.type,
        action_id=str(detail.get("action_id") or ""),
        action=str(detail.get("action") or "unknown-action"),
        resource_id=detail.get("resource_id"),
        region=detail.get("region"),
        account_id=detail.get("account_id"),
        verified=bool(detail.get("verified")),
        actor=event.actor,
        status=str(detail["status"]) if detail.get("status") else None,
    )
