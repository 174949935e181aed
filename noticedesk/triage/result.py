"""What triage says of each input: its notice, its case, its clocks; as the CLI and JSON show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from noticedesk.cases.casestate import CaseState
from noticedesk.notices.clocks import Clocks
from noticedesk.notices.model import Facts, Notice
from noticedesk.triage.reading import Read


@dataclass(frozen=True, slots=True)  # slots: one object per input, not two (it and its __dict__)
class TriageResult:
    source: str
    index: int | None
    notice: Notice | None = None
    case_id: int | None = None
    error: str | None = None
    duplicate: bool = False
    warnings: tuple[str, ...] = ()
    forwarded_by: str | None = None
    clocks: Clocks | None = None
    """The clocks this notice sets: a date stated in it, else the defaults for its kind."""
    skipped: bool = False
    """Not an input: a source left alone on purpose (a symlink out of the folder); see ``warnings``."""

    def to_json(self) -> dict[str, Any]:
        notice = self.notice
        facts = (notice.facts if notice else Facts()).to_json()
        return {
            "source": self.source,
            "index": self.index,
            "kind": notice.kind.value if notice else None,
            "stage": notice.stage.value if notice else None,
            "authenticity": notice.authenticity.value if notice else None,
            "authenticity_reasons": list(notice.authenticity_reasons) if notice else [],
            "authenticity_reasons_ja": list(notice.authenticity_reasons_ja) if notice else [],
            **facts,
            # `reply_by` is the deadline that applies (stated, or the kind's default clock);
            # `reply_by_stated` is only what the notice itself says.
            "reply_by": _iso(self.clocks.reply_by if self.clocks else None),
            "reply_by_stated": facts["reply_by"],
            "enforcement_at": _iso(self.clocks.enforcement_at if self.clocks else None),
            "subject": notice.title if notice else None,
            "rule": notice.rule_id if notice else None,
            # The cues that decided kind, stage and each abuse type, with their weights.
            "evidence": notice.evidence.to_json() if notice and notice.evidence else None,
            "forwarded_by": self.forwarded_by,
            "case_id": self.case_id,
            "duplicate": self.duplicate,
            "error": self.error,
            "warnings": list(self.warnings),
        }


class Filed(NamedTuple):
    """One input after filing; a case opened in this batch has its id once the batch is written.

    A named tuple, not a frozen dataclass: one is made per input, and a tuple is made in one call.
    """

    entry: Read
    clocks: Clocks | None
    case: int | CaseState | None
    duplicate: bool = False
    note: str | None = None
    """Why the notice opened a case of its own rather than join one (cases/filing.py)."""


def result_of(filed: Filed) -> TriageResult:
    item, understood = filed.entry.item, filed.entry.understood
    case_id = filed.case.id if isinstance(filed.case, CaseState) else filed.case
    if filed.duplicate:
        return TriageResult(
            item.source,
            item.index,
            understood.notice if understood else None,
            case_id,
            filed.entry.error,
            duplicate=True,
            forwarded_by=understood.forwarded_by if understood else None,
            clocks=filed.clocks,
        )
    if understood is None:
        return TriageResult(item.source, item.index, None, None, filed.entry.error)
    return TriageResult(
        item.source,
        item.index,
        understood.notice,
        case_id,
        None,
        warnings=understood.warnings if filed.note is None else (*understood.warnings, filed.note),
        forwarded_by=understood.forwarded_by,
        clocks=filed.clocks,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
