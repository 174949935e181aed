"""Filing notices: open a case or move the one a notice belongs to, and record it on the timeline.

A triage batch files its notices against a ``CaseBook``: the cases of the store that the batch's
notices could join (read with a few queries per batch, see cases/casebook_load.py), plus the
cases the batch opens and moves, held in memory and written at the end of the batch. The rules
are those of one notice at a time against the store, in the batch's order: a notice sees every
case and message filed before it in the same batch.

A notice joins, in order: a case of its kind holding a message named in its In-Reply-To or
References; the case of its key (account, kind, AWS case reference); else, when it names an
account, the newest open case of that account and kind (without a reference, when the notice
has one). Newest is the highest id; a case opened in this batch is newer than every stored one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from noticedesk.cases.joining import case_key, moved, status_after
from noticedesk.cases.runbooks import Step, checklist_for
from noticedesk.cases.timeline import SYSTEM_ACTOR
from noticedesk.notices.clocks import Clocks
from noticedesk.notices.model import Authenticity, Facts, Notice

_STRENGTH = {"failed": 0, "suspicious": 0, "unverified": 1, "verified": 2}


def opens_case(notice: Notice) -> bool:
    """A case is opened for a notice of a case kind, unless the mail shows signs of spoofing."""
    return notice.kind.opens_case and notice.authenticity is not Authenticity.SUSPICIOUS


@dataclass(eq=False)
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
    """As stored (``Facts.to_json``): a follow-up merges into ``Facts.from_json`` of it."""
    reply_by: datetime | None
    enforcement_at: datetime | None
    last_notice_at: datetime | None
    title: str = ""
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    opened_as: int | None = None
    """n for the batch's n-th new case (the store numbers them in that order when they go in)."""
    changed: bool = False
    """A stored case this batch moved (an UPDATE is due)."""
    checklist: set[str] | None = None
    """Item keys it has, once known (a stored case's are read only when a new abuse type asks)."""

    @property
    def rank(self) -> tuple[int, int]:
        """Order of age: stored cases by id, then the batch's new ones, newer than all of them."""
        if self.opened_as is not None:
            return (1, self.opened_as)
        assert self.id is not None
        return (0, self.id)

    def fits_open(self, without_ref: bool) -> bool:
        return self.status != "resolved" and (not without_ref or self.case_ref is None)

    def insert_row(self) -> dict[str, Any]:
        return {
            "case_key": self.case_key,
            "account_id": self.account_id,
            "kind": self.kind,
            "case_ref": self.case_ref,
            "stage": self.stage,
            "status": self.status,
            "title": self.title,
            "authenticity": self.authenticity,
            "facts": self.facts,
            "reply_by": self.reply_by,
            "enforcement_at": self.enforcement_at,
            "last_notice_at": self.last_notice_at,
            "opened_at": self.opened_at,
            "updated_at": self.updated_at,
        }

    def update_row(self) -> dict[str, Any]:
        """Every column a follow-up can move (writing back an unmoved value changes nothing)."""
        return {
            "case_id": self.id,
            "account_id": self.account_id,
            "case_ref": self.case_ref,
            "stage": self.stage,
            "status": self.status,
            "authenticity": self.authenticity,
            "facts": self.facts,
            "reply_by": self.reply_by,
            "enforcement_at": self.enforcement_at,
            "last_notice_at": self.last_notice_at,
            "updated_at": self.updated_at,
        }


class StoredCases(Protocol):
    """The two reads a batch rarely needs beyond what it loaded up front."""

    def older_open(self, account_id: str, kind: str, without_ref: bool, below_id: int) -> CaseState | None:
        """The newest stored open case of that account and kind with an id below ``below_id``."""

    def checklist_keys(self, case_id: int) -> set[str]:
        """The item keys a stored case has."""


@dataclass
class CaseBook:
    """The cases a batch files against, and the rows its filing adds (written at the batch's end)."""

    stored: StoredCases
    newest_open: dict[tuple[str, str, bool], int | None] = field(default_factory=dict)
    """(account, kind, without reference) -> the newest stored case that was open (and without a
    reference) when the batch began, for each account and kind the batch names."""
    opened: list[CaseState] = field(default_factory=list)
    events: list[tuple[CaseState, dict[str, Any]]] = field(default_factory=list)
    items: list[tuple[CaseState, dict[str, Any]]] = field(default_factory=list)
    _by_id: dict[int, CaseState] = field(default_factory=dict)
    _by_key: dict[str, CaseState] = field(default_factory=dict)
    _by_account: dict[tuple[str, str], list[CaseState]] = field(default_factory=dict)
    _without_ref: dict[tuple[str, str], list[CaseState]] = field(default_factory=dict)
    _by_message_id: dict[str, list[CaseState]] = field(default_factory=dict)

    def add_stored(self, case: CaseState) -> CaseState:
        """Know a stored case (the copy already known wins: it holds this batch's changes)."""
        assert case.id is not None
        known = self._by_id.get(case.id)
        if known is not None:
            return known
        self._by_id[case.id] = case
        self._index(case)
        return case

    def add_message(self, message_id: str | None, case: CaseState | None) -> None:
        """A message of a case, stored or filed in this batch: a thread lookup can name it."""
        if message_id and case is not None:
            self._by_message_id.setdefault(message_id, []).append(case)

    def known_ids(self) -> set[int]:
        return set(self._by_id)

    def stored_case(self, case_id: int) -> CaseState:
        return self._by_id[case_id]

    def changed(self) -> list[CaseState]:
        return [case for case in self._by_id.values() if case.changed]

    def find(self, notice: Notice) -> CaseState | None:
        """The case a notice belongs to: same thread, else same key, else the account's open one."""
        kind = notice.kind.value
        for thread_id in notice.thread_ids:
            for case in self._by_message_id.get(thread_id, ()):
                if case.kind == kind:
                    return case
        exact = self._by_key.get(case_key(notice))
        account = notice.facts.account_id
        if exact is not None or account is None:
            return exact
        # Same account and kind, and one side has no case reference: the newest open case of that kind.
        return self._newest_open(account, kind, without_ref=notice.facts.case_ref is not None)

    def file(
        self,
        notice: Notice,
        facts_json: dict[str, Any],
        clocks: Clocks,
        sent_at: datetime,
        received: datetime,
    ) -> CaseState:
        """The case this notice now belongs to (opened or moved), with a timeline event.

        ``facts_json`` is ``notice.facts.to_json()``, made once by the caller (its message row has it).
        """
        existing = self.find(notice)
        summary = f"{notice.stage.value}: {notice.title or notice.kind.value}"
        detail = {
            "kind": notice.kind.value,
            "stage": notice.stage.value,
            "sent_at": sent_at.isoformat(),
            "authenticity": notice.authenticity.value,
            "facts": facts_json,
        }
        if existing is None:
            case = self._open(notice, clocks, facts_json, sent_at, received)
            self._event(case, received, summary, detail)
            self._add_checklist(case, _steps(case.kind, notice.facts.abuse_types))
            return case
        if _STRENGTH[notice.authenticity.value] < _STRENGTH.get(existing.authenticity, 0):
            # A weaker message (say unverified or failed, on a verified case) could be a forgery
            # quoting a real case reference: it is kept on the timeline but moves nothing.
            detail["not_applied"] = (
                f"message is {notice.authenticity.value}, the case is {existing.authenticity}"
            )
            self._event(existing, received, summary, detail)
            return existing
        known = Facts.from_json(existing.facts)
        facts = known.merged_with(notice.facts)
        newest = existing.last_notice_at is None or sent_at >= existing.last_notice_at
        existing.stage, existing.status = moved(existing.stage, existing.status, notice.stage, newest)
        existing.facts = facts.to_json()
        existing.updated_at = received
        existing.authenticity = _stronger(existing.authenticity, notice.authenticity)
        if existing.case_ref is None and notice.facts.case_ref:
            existing.case_ref = notice.facts.case_ref
        if existing.account_id is None and notice.facts.account_id:
            existing.account_id = notice.facts.account_id
            self._index(existing)  # now a candidate for that account's newest open case
        if newest:
            existing.reply_by, existing.enforcement_at = clocks.reply_by, clocks.enforcement_at
            existing.last_notice_at = sent_at
        existing.changed = existing.id is not None
        self._event(existing, received, summary, detail)
        if facts.abuse_types != known.abuse_types:  # only a new abuse type brings new steps
            self._add_checklist(existing, _steps(existing.kind, facts.abuse_types))
        return existing

    def _open(
        self,
        notice: Notice,
        clocks: Clocks,
        facts_json: dict[str, Any],
        sent_at: datetime,
        received: datetime,
    ) -> CaseState:
        case = CaseState(
            id=None,
            opened_as=len(self.opened),
            case_key=case_key(notice),
            kind=notice.kind.value,
            account_id=notice.facts.account_id,
            case_ref=notice.facts.case_ref,
            stage=notice.stage.value,
            status=status_after("new", notice.stage),
            authenticity=notice.authenticity.value,
            facts=facts_json,
            reply_by=clocks.reply_by,
            enforcement_at=clocks.enforcement_at,
            last_notice_at=sent_at,
            title=notice.title,
            opened_at=received,
            updated_at=received,
            checklist=set(),
        )
        self.opened.append(case)
        self._index(case)
        return case

    def _newest_open(self, account: str, kind: str, without_ref: bool) -> CaseState | None:
        pair = (account, kind)
        stored_id = self.newest_open.get((account, kind, without_ref))
        # Every stored case newer than ``stored_id`` was not open (or had a reference) when the
        # batch began; those this batch changed are in memory. If the batch closed that case (or
        # gave it a reference), the next older one from the store takes its place.
        while stored_id is not None and not self._by_id[stored_id].fits_open(without_ref):
            older = self.stored.older_open(account, kind, without_ref, stored_id)
            stored_id = None if older is None else self.add_stored(older).id
            self.newest_open[(account, kind, without_ref)] = stored_id
        candidates = self._without_ref if without_ref else self._by_account
        for case in reversed(candidates.get(pair, ())):
            if case.fits_open(without_ref):
                return case
        return None

    def _index(self, case: CaseState) -> None:
        self._by_key.setdefault(case.case_key, case)
        if case.account_id is None:
            return
        pair = (case.account_id, case.kind)
        _insort(self._by_account.setdefault(pair, []), case)
        if case.case_ref is None:  # a reference is never taken back: the list only grows stale
            _insort(self._without_ref.setdefault(pair, []), case)

    def _event(self, case: CaseState, at: datetime, summary: str, detail: dict[str, Any]) -> None:
        row = {
            "at": at,
            "type": "notice-received",
            "actor": SYSTEM_ACTOR,
            "summary": summary,
            "detail": detail,
        }
        self.events.append((case, row))

    def _add_checklist(self, case: CaseState, steps: Iterable[Step]) -> None:
        """Add the steps the case does not have yet, after the ones it has."""
        if case.checklist is None:
            assert case.id is not None
            case.checklist = self.stored.checklist_keys(case.id)
        present = case.checklist
        new_steps = [step for step in steps if step.key not in present]
        for offset, step in enumerate(new_steps):
            row = {
                "item_key": step.key,
                "position": len(present) + offset,
                "text_en": step.en,
                "text_ja": step.ja,
            }
            self.items.append((case, row))
        present.update(step.key for step in new_steps)


@cache
def _steps(kind: str, abuse_types: tuple[str, ...]) -> tuple[Step, ...]:
    """The checklist of a kind and abuse types: runbooks are package data, read once per process."""
    return tuple(checklist_for(kind, abuse_types))


def _insort(cases: list[CaseState], case: CaseState) -> None:
    if case not in cases:
        bisect.insort(cases, case, key=lambda known: known.rank)


def _stronger(current: str, incoming: Authenticity) -> str:
    return incoming.value if _STRENGTH[incoming.value] > _STRENGTH.get(current, 0) else current
