"""One case as a triage batch sees it, and the rows the batch's filing adds (``cases/filing.py``
files against them; ``cases/batch.py`` reads and writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from noticedesk.store.bulk import JsonText


class EventRow(NamedTuple):
    """A ``case_events`` row but its case (whose id a new case gets when the batch is written)."""

    at: datetime
    type: str
    actor: str
    summary: str
    detail: dict[str, Any] | JsonText


class ItemRow(NamedTuple):
    """A ``checklist_items`` row but its case."""

    item_key: str
    position: int
    text_en: str
    text_ja: str


@dataclass(eq=False, slots=True)
class CaseState:
    """One case as the batch sees it: its stored row with this batch's changes, or a new case."""

    id: int | None
    """``None`` for a case opened in this batch until it is inserted."""
    case_key: str
    kind: str
    account_id: str | None
    case_ref: str | None
    stage: str
    status: str
    authenticity: str
    facts: dict[str, Any]
    """As stored (``Facts.to_json``, or ``Facts.json_fields``: the same JSON, arrays as tuples): a
    follow-up merges into ``Facts.from_json`` of it."""
    reply_by: datetime | None
    enforcement_at: datetime | None
    last_notice_at: datetime | None
    facts_text: JsonText | None = None
    """``facts`` already serialized, while they are the opening notice's (saves a json.dumps)."""
    title: str = ""
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    opened_as: int | None = None
    """n for the batch's n-th new case."""
    changed: bool = False
    """A stored case this batch moved (an UPDATE is due)."""
    checklist: set[str] | None = None
    """Item keys it has, once known (a stored case's are read only when a new abuse type asks)."""
    was_open: bool = False
    """A stored case that was open when the batch began (the store's count of open cases holds it)."""

    @property
    def rank(self) -> tuple[int, int]:
        """Order of age: stored cases by id, then the batch's new ones, newer than all of them."""
        if self.opened_as is not None:
            return (1, self.opened_as)
        assert self.id is not None
        return (0, self.id)

    def fits_open(self, without_ref: bool) -> bool:
        return self.status != "resolved" and (not without_ref or self.case_ref is None)

    def stored_facts(self) -> dict[str, Any] | JsonText:
        return self.facts if self.facts_text is None else self.facts_text


class StoredCases(Protocol):
    """The two reads a batch rarely needs beyond what it loaded up front."""

    def older_open(self, account_id: str, kind: str, without_ref: bool, below_id: int) -> CaseState | None:
        """The newest stored open case of that account and kind with an id below ``below_id``."""

    def checklist_keys(self, case_id: int) -> set[str]:
        """The item keys a stored case has."""
