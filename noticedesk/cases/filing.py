"""Filing notices: open a case or move the one a notice belongs to, and record it on the timeline.

A triage batch files its notices against a ``CaseBook``: the cases of the store that the batch's
notices could join (read with a few queries per batch, see cases/batch.py), plus the cases the
batch opens and moves, held in memory and written at the end of the batch. The rules are those
of one notice at a time against the store, in the batch's order: a notice sees every case and
message filed before it in the same batch.

A notice joins, in order: a case of its kind holding a message named in its In-Reply-To or
References (the first such id in the notice's order; among several messages with that id, the
first stored); the case of its key (account, kind, AWS case reference); else, when it names an
account: with a reference, the newest open case of that account and kind without one; with no
reference, the open case of that account and kind when it is the only one. When several are
open, a notice naming no reference cannot tell which it is about: it opens a case of its own
and says so (``CaseBook.note``). Newest is the highest id; a case opened in this batch is newer
than every stored one (the store numbers the batch's new cases in the order they were opened).
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from noticedesk.cases.casestate import CaseState, EventRow, ItemRow, StoredCases
from noticedesk.cases.joining import case_key, moved, status_after
from noticedesk.cases.runbooks import checklist_for
from noticedesk.cases.timeline import SYSTEM_ACTOR
from noticedesk.notices.clocks import Clocks
from noticedesk.notices.model import Authenticity, Facts, Notice
from noticedesk.store.bulk import JsonText, json_object_text, json_text

_STRENGTH = {"failed": 0, "suspicious": 0, "unverified": 1, "verified": 2}


def opens_case(notice: Notice) -> bool:
    """A case is opened for a notice of a case kind, unless the mail shows signs of spoofing."""
    return notice.kind.opens_case and notice.authenticity is not Authenticity.SUSPICIOUS


@dataclass
class CaseBook:
    """The cases a batch files against, and the rows its filing adds (written at the batch's end)."""

    stored: StoredCases
    newest_open: dict[tuple[str, str, bool], int | None] = field(default_factory=dict)
    """(account, kind, without reference) -> the newest stored case that was open (and without a
    reference) when the batch began, for each account and kind the batch's notices name."""
    open_at_start: dict[tuple[str, str], int] = field(default_factory=dict)
    """(account, kind) -> how many stored cases were open when the batch began."""
    note: str | None = None
    """Why the last notice filed opened a case of its own rather than join one (else None)."""
    opened: list[CaseState] = field(default_factory=list)
    events: list[tuple[CaseState, EventRow]] = field(default_factory=list)
    items: list[tuple[CaseState, tuple[ItemRow, ...]]] = field(default_factory=list)
    stages_at_start: dict[int, str] = field(default_factory=dict)
    """Stored case id -> its stage when the batch first saw it (what a stage change is told against)."""
    _by_id: dict[int, CaseState] = field(default_factory=dict)
    _by_key: dict[str, CaseState] = field(default_factory=dict)
    _by_account: dict[tuple[str, str], list[CaseState]] = field(default_factory=dict)
    _without_ref: dict[tuple[str, str], list[CaseState]] = field(default_factory=dict)
    _by_message_id: dict[str, list[CaseState]] = field(default_factory=dict)
    _checklists: dict[tuple[str, tuple[str, ...]], tuple[ItemRow, ...]] = field(default_factory=dict)

    def add_stored(self, case: CaseState) -> CaseState:
        """Know a stored case (the copy already known wins: it holds this batch's changes)."""
        assert case.id is not None
        known = self._by_id.get(case.id)
        if known is not None:
            return known
        self._by_id[case.id] = case
        self.stages_at_start[case.id] = case.stage
        self._index(case)
        return case

    def add_message(self, message_id: str | None, case: CaseState | None) -> None:
        """A message of a case, stored or filed in this batch: a thread lookup can name it."""
        if message_id and case is not None:
            self._by_message_id.setdefault(message_id, []).append(case)

    def stored_case(self, case_id: int) -> CaseState | None:
        return self._by_id.get(case_id)

    def changed(self) -> list[CaseState]:
        return [case for case in self._by_id.values() if case.changed]

    def find(self, notice: Notice, key: str | None = None) -> CaseState | None:
        """The case a notice belongs to: same thread, else same key, else the account's open one.

        ``key`` is ``case_key(notice)`` when the caller has it already.
        """
        kind = notice.kind  # a StrEnum: equal to its value, compared without reading ``.value``
        for thread_id in notice.thread_ids:
            for case in self._by_message_id.get(thread_id, ()):
                if case.kind == kind:
                    return case
        exact = self._by_key.get(key or case_key(notice))
        account = notice.facts.account_id
        if account is None:
            return exact
        if notice.facts.case_ref is not None:
            # The notice names a reference no case has: the newest open case without one.
            return exact or self._newest_open(account, kind.value, without_ref=True)
        open_cases = self._open_count(account, kind.value)
        if open_cases == 1:
            return self._newest_open(account, kind.value, without_ref=False)
        if open_cases > 1:
            self.note = (
                f"names no case reference and account {account} has {open_cases} open {kind.value} "
                "cases: filed as a case of its own (merge it by hand if it belongs to one)"
            )
            return None
        return exact  # a closed case of its key opens again

    def file(
        self,
        notice: Notice,
        facts: tuple[dict[str, Any], JsonText],
        clocks: Clocks,
        sent_at: datetime,
        received: datetime,
    ) -> CaseState:
        """The case this notice now belongs to (opened or moved), with a timeline event.

        ``facts`` is ``notice.facts.json_fields()`` and its ``json_text``, made once by the caller
        (the message row has them too).
        """
        facts_json, facts_text = facts
        key = case_key(notice)
        self.note = None
        existing = self.find(notice, key)
        if existing is None and self.note is not None and key in self._by_key:
            # Its key belongs to one of the open cases it could not choose between: its own.
            seed = f"{notice.message_id}|{sent_at.isoformat()}|{notice.title}|{len(self.opened)}"
            key = f"{key}|{hashlib.sha256(seed.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"
        # Each read once: an enum's ``.value`` is a Python-level property on Python 3.11.
        kind, stage, authenticity = notice.kind.value, notice.stage.value, notice.authenticity.value
        summary = f"{stage}: {notice.title or kind}"
        detail = {"kind": kind, "stage": stage, "sent_at": sent_at.isoformat(), "authenticity": authenticity}
        if existing is not None and _STRENGTH[authenticity] < _STRENGTH.get(existing.authenticity, 0):
            # A weaker message (say unverified or failed, on a verified case) could be a forgery
            # quoting a real case reference: it is kept on the timeline but moves nothing.
            weaker = f"message is {authenticity}, the case is {existing.authenticity}"
            self._event(existing, received, summary, {**detail, "facts": facts_json, "not_applied": weaker})
            return existing
        if self.note is not None:
            detail["note"] = self.note
        detail_text = json_object_text(detail, "facts", facts_text)
        if existing is None:
            case = self._open(notice, key, clocks, facts, sent_at, received, (kind, stage, authenticity))
            self._event(case, received, summary, detail_text)
            return case
        known = Facts.from_json(existing.facts)
        merged = known.merged_with(notice.facts)
        newest = existing.last_notice_at is None or sent_at >= existing.last_notice_at
        existing.stage, existing.status = moved(existing.stage, existing.status, notice.stage, newest)
        existing.facts, existing.facts_text = merged.json_fields(), None
        existing.updated_at = received
        existing.authenticity = _stronger(existing.authenticity, notice.authenticity)
        if existing.case_ref is None and notice.facts.case_ref:
            existing.case_ref = notice.facts.case_ref
        if existing.account_id is None and notice.facts.account_id:
            existing.account_id = notice.facts.account_id
            existing.was_open = False  # the store's count of that account's open cases lacks it
            self._index(existing)  # now a candidate for that account's newest open case
        if newest:
            existing.reply_by, existing.enforcement_at = clocks.reply_by, clocks.enforcement_at
            existing.last_notice_at = sent_at
        existing.changed = existing.id is not None  # a new case is inserted as it ends up
        self._event(existing, received, summary, detail_text)
        if merged.abuse_types != known.abuse_types:  # only a new abuse type brings new steps
            self._add_steps(existing, merged.abuse_types)
        return existing

    def _open(
        self,
        notice: Notice,
        key: str,
        clocks: Clocks,
        facts: tuple[dict[str, Any], JsonText],
        sent_at: datetime,
        received: datetime,
        values: tuple[str, str, str],
    ) -> CaseState:
        kind, stage, authenticity = values
        case = CaseState(
            id=None,
            case_key=key,
            kind=kind,
            account_id=notice.facts.account_id,
            case_ref=notice.facts.case_ref,
            stage=stage,
            status=status_after("new", notice.stage),
            authenticity=authenticity,
            facts=facts[0],
            facts_text=facts[1],
            reply_by=clocks.reply_by,
            enforcement_at=clocks.enforcement_at,
            last_notice_at=sent_at,
            title=notice.title,
            opened_at=received,
            updated_at=received,
            opened_as=len(self.opened),
        )
        self.opened.append(case)
        self._index(case)
        items = self._opening_items(kind, notice.facts.abuse_types)
        self.items.append((case, items))
        case.checklist = {item.item_key for item in items}
        return case

    def warn(self, notice: Notice, at: datetime, summary: str, detail: dict[str, Any]) -> CaseState:
        """NoticeDesk's own early warning (no mail from AWS): the case it belongs to, by the rules a
        notice joins one (else its own key's case), gets it as a note; a resolved one opens again
        at the warning's stage, with the warning's facts added. Nothing else of a case moves: its
        stage, clocks and last notice are AWS's to set. With no case to join, it opens one as a
        notice does (its runbook checklist included), with no clock and no notice from AWS yet."""
        key = case_key(notice)
        self.note = None
        case = self.find(notice, key) or self._by_key.get(key)
        if case is None:
            facts = notice.facts.json_fields()
            values = (notice.kind.value, notice.stage.value, notice.authenticity.value)
            case = self._open(notice, key, Clocks(None, None), (facts, json_text(facts)), at, at, values)
            case.last_notice_at = None
        elif case.status == "resolved":
            case.stage, case.status = moved(case.stage, case.status, notice.stage, newest=True)
            case.facts = Facts.from_json(case.facts).merged_with(notice.facts).json_fields()
            case.facts_text, case.updated_at, case.changed = None, at, case.id is not None
        self.events.append((case, EventRow(at, "note", SYSTEM_ACTOR, summary, detail)))
        return case

    def _open_count(self, account: str, kind: str) -> int:
        """How many cases of that account and kind are open now: the store's count when the batch
        began, with what this batch opened, closed and opened again."""
        count = self.open_at_start.get((account, kind), 0)
        for case in self._by_account.get((account, kind), ()):
            count += case.fits_open(False) - (case.was_open and case.id is not None)
        return count

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

    def complete(
        self,
        case: CaseState,
        notice: Notice,
        clocks: Clocks | None,
        first_authenticity: str | None,
        received: datetime,
    ) -> bool:
        """A more complete copy of a notice the case holds (same Message-ID, other bytes: the first
        copy arrived truncated). The facts it adds go into the case when it is at least as
        authentic as the first copy (a forged "fuller copy" must not add to a case); the facts the
        case has are kept. Recorded on the timeline either way; True when its facts were taken."""
        authenticity = notice.authenticity.value
        applied = _STRENGTH[authenticity] >= _STRENGTH.get(first_authenticity or "", 0)
        known = Facts.from_json(case.facts)
        completed = _completed(known, notice.facts) if applied else known
        added = {
            name: value
            for name, value in completed.to_json().items()
            if value != known.to_json().get(name) and value not in (None, [], "")
        }
        detail: dict[str, Any] = {"kind": notice.kind.value, "authenticity": authenticity, "added": added}
        if not applied:
            detail["not_applied"] = f"copy is {authenticity}, the first copy was {first_authenticity}"
        elif added:
            case.facts, case.facts_text = completed.json_fields(), None
            case.updated_at = received
            case.changed = case.id is not None
            if known.reply_by is None and notice.facts.reply_by is not None and clocks is not None:
                case.reply_by, case.enforcement_at = clocks.reply_by, clocks.enforcement_at
            if completed.abuse_types != known.abuse_types:
                self._add_steps(case, completed.abuse_types)
        self._event(case, received, f"more complete copy of the notice: {notice.title}", detail)
        return applied

    def _event(self, case: CaseState, at: datetime, summary: str, detail: dict[str, Any] | JsonText) -> None:
        self.events.append((case, EventRow(at, "notice-received", SYSTEM_ACTOR, summary, detail)))

    def _opening_items(self, kind: str, abuse_types: tuple[str, ...]) -> tuple[ItemRow, ...]:
        """A new case's checklist, made once per kind and abuse types in a batch."""
        items = self._checklists.get((kind, abuse_types))
        if items is None:
            steps = checklist_for(kind, abuse_types)
            items = tuple(
                ItemRow(step.key, position, step.en, step.ja) for position, step in enumerate(steps)
            )
            self._checklists[(kind, abuse_types)] = items
        return items

    def _add_steps(self, case: CaseState, abuse_types: tuple[str, ...]) -> None:
        """Add the steps of a new abuse type the case does not have yet, after the ones it has."""
        if case.checklist is None:
            assert case.id is not None
            case.checklist = self.stored.checklist_keys(case.id)
        present = case.checklist
        new_steps = [step for step in checklist_for(case.kind, abuse_types) if step.key not in present]
        items = tuple(
            ItemRow(step.key, len(present) + offset, step.en, step.ja)
            for offset, step in enumerate(new_steps)
        )
        if items:
            self.items.append((case, items))
            present.update(item.item_key for item in items)


def _insort(cases: list[CaseState], case: CaseState) -> None:
    if not cases or cases[-1].rank < case.rank:
        cases.append(case)  # the usual case: a new case, or stored ones read in id order
    elif case not in cases:
        bisect.insort(cases, case, key=lambda known: known.rank)


def _completed(known: Facts, copy: Facts) -> Facts:
    """``known`` with what ``copy`` adds: values it lacks, list items it does not have."""
    values: dict[str, Any] = {}
    for name in known.__dataclass_fields__:
        old, new = getattr(known, name), getattr(copy, name)
        if isinstance(old, tuple):
            values[name] = tuple(dict.fromkeys((*old, *new)))
        else:
            values[name] = old if old is not None else new
    named = tuple(kind for kind in values["abuse_types"] if kind != "other")
    values["abuse_types"] = named or values["abuse_types"]
    return Facts(**values)


def _stronger(current: str, incoming: Authenticity) -> str:
    return incoming.value if _STRENGTH[incoming.value] > _STRENGTH.get(current, 0) else current
