"""Which case a notice belongs to, and how a notice moves a case. Pure."""

from __future__ import annotations

from noticedesk.notices.model import Notice, Stage

# A later notice never moves a case back: a reminder arriving after the final notice is history.
STAGE_RANK = {
    Stage.NOTICE: 0,
    Stage.EARLY_WARNING: 0,
    Stage.REPLY: 1,
    Stage.REMINDER: 2,
    Stage.PAUSED: 3,
    Stage.FINAL: 4,
    Stage.APPEAL_REFUSED: 4,
    Stage.RESOLVED: 5,
}


def case_key(notice: Notice) -> str:
    """The identity of a case: account, kind, and AWS's case reference when the notice has one."""
    facts = notice.facts
    return f"{facts.account_id or '-'}|{notice.kind.value}|{facts.case_ref or '-'}"


def later_stage(current: str, incoming: Stage) -> Stage:
    current_stage = Stage(current)
    return incoming if STAGE_RANK[incoming] >= STAGE_RANK[current_stage] else current_stage


def moved(current_stage: str, current_status: str, incoming: Stage, newest: bool) -> tuple[str, str]:
    """A case's (stage, status) after one more notice of it.

    An older notice that arrives late is history: it moves nothing. A newer one moves the stage
    forward only, except that AWS writing again about a resolved case opens it again.
    """
    if not newest:
        return current_stage, current_status
    if current_status == "resolved" and incoming is not Stage.RESOLVED:
        return incoming.value, "new"
    return later_stage(current_stage, incoming).value, status_after(current_status, incoming)


def status_after(current_status: str, stage: Stage) -> str:
    if stage is Stage.RESOLVED:
        return "resolved"
    if current_status == "resolved":
        return "new"  # AWS wrote again about a closed case: it is open again
    return current_status
