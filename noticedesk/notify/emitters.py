"""The events of changes to cases, built from plain values: whoever makes the change calls one
and enqueues the result in its own transaction. Pure.

Each dedupe key names the change itself, so the same change seen twice (a batch run again, a
second watcher) is told once.
"""

from __future__ import annotations

from datetime import datetime

from noticedesk.notify.events import Event

STAGES_TOLD = frozenset({"reminder", "final", "resolved", "paused", "appeal-refused"})
"""Stage changes worth a message: AWS pressing, acting, or closing the matter."""
SEVERE = frozenset({"high", "critical"})


def _deadline(reply_by: datetime | None, enforcement_at: datetime | None) -> dict[str, str]:
    """The deadline a message counts down to: the reply-by time, else the enforcement time."""
    if reply_by is not None:
        return {"deadline": reply_by.isoformat(), "deadline_label": "reply_by"}
    if enforcement_at is not None:
        return {"deadline": enforcement_at.isoformat(), "deadline_label": "enforcement"}
    return {}


def case_opened(
    case_id: int,
    account_id: str | None,
    *,
    kind: str,
    title: str,
    stage: str,
    reply_by: datetime | None,
    enforcement_at: datetime | None,
) -> Event:
    facts = {"case_kind": kind, "title": title or kind, "stage": stage, **_deadline(reply_by, enforcement_at)}
    return Event("case.opened", str(case_id), account_id, f"case-opened:{case_id}", facts)


def stage_changed(
    case_id: int,
    account_id: str | None,
    *,
    kind: str,
    title: str,
    stage: str,
    previous_stage: str,
    reply_by: datetime | None,
    enforcement_at: datetime | None,
    notice_at: datetime | None,
) -> Event | None:
    """The event of a case moved to ``stage``; None for a move not worth a message."""
    if stage == previous_stage or stage not in STAGES_TOLD:
        return None
    facts = {
        "case_kind": kind,
        "title": title or kind,
        "stage": stage,
        "previous_stage": previous_stage,
        **_deadline(reply_by, enforcement_at),
    }
    when = notice_at.isoformat() if notice_at else ""
    return Event("case.stage", str(case_id), account_id, f"case-stage:{case_id}:{stage}:{when}", facts)


def notice_suspicious(
    message_key: str, account_id: str | None, *, subject: str, sender: str, reasons: str, reasons_ja: str
) -> Event:
    facts = {
        "subject": subject or "-",
        "sender": sender or "-",
        "reasons": reasons or "-",
        "reasons_ja": reasons_ja or reasons or "-",
    }
    return Event("notice.suspicious", None, account_id, f"suspicious:{message_key}"[:300], facts)


def finding_severe(
    case_id: int | None,
    account_id: str | None,
    *,
    check: str,
    severity: str,
    resource: str,
    detail: str,
) -> Event | None:
    """A failed check of high or critical severity; None for anything milder."""
    if severity not in SEVERE:
        return None
    facts = {"check": check, "severity": severity, "resource": resource or "-", "detail": detail}
    if case_id is None:
        facts["command"] = "noticedesk diagnose" + (f" --account {account_id}" if account_id else "")
    key = f"finding:{case_id or '-'}:{check}:{resource}"[:300]
    return Event("finding.severe", str(case_id) if case_id else None, account_id, key, facts)


def action_event(
    outcome: str,
    action_id: str,
    case_id: int,
    account_id: str | None,
    *,
    action: str,
    resource: str,
    error: str | None = None,
    at: datetime,
) -> Event:
    """``outcome``: applied | failed | undone."""
    facts = {"action": action, "action_id": action_id, "resource": resource}
    if error:
        facts["error"] = error[:500]
    key = f"action-{outcome}:{action_id}:{at.isoformat()}"
    return Event(f"action.{outcome}", str(case_id), account_id, key, facts)


def reply_sent(case_id: int, account_id: str | None, *, kind: str, by: str, at: datetime) -> Event:
    facts = {"case_kind": kind, "by": by}
    return Event("reply.sent", str(case_id), account_id, f"reply-sent:{case_id}:{at.isoformat()}", facts)


def ses_alarm(
    change: str,
    alarm_key: str,
    account_id: str | None,
    case_id: int | None,
    *,
    metric: str,
    scope: str,
    value: float,
    threshold: float,
    level: str = "critical",
) -> Event:
    """An SES rate alarm ``raised`` or ``cleared``; ``scope`` as people read it ("identity shop.example")."""
    facts = {
        "metric": metric,
        "level": level,
        "scope": scope,
        "value": f"{value:.2%}",
        "threshold": f"{threshold:.2%}",
    }
    kind = "ses.alarm.raised" if change == "raised" else "ses.alarm.cleared"
    return Event(
        kind, str(case_id) if case_id else None, account_id or None, f"ses-alarm:{alarm_key}"[:300], facts
    )
