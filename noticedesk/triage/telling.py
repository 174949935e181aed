"""What a triage batch tells people: cases opened, cases moved to a stage worth a message, mails
that posed as AWS. Built from the batch once it is written (new cases have their ids), enqueued
in its transaction."""

from __future__ import annotations

from collections.abc import Iterable

from noticedesk.cases.filing import CaseBook
from noticedesk.notices.model import Authenticity
from noticedesk.notify.emitters import case_opened, notice_suspicious, stage_changed
from noticedesk.notify.events import Event
from noticedesk.triage.result import Filed


def batch_events(book: CaseBook, filed: Iterable[Filed]) -> list[Event]:
    events: list[Event] = []
    for case in book.opened:
        assert case.id is not None  # written: the batch's new cases have their ids
        events.append(
            case_opened(
                case.id,
                case.account_id,
                kind=case.kind,
                title=case.title,
                stage=case.stage,
                reply_by=case.reply_by,
                enforcement_at=case.enforcement_at,
            )
        )
    for case in book.changed():
        assert case.id is not None
        moved = stage_changed(
            case.id,
            case.account_id,
            kind=case.kind,
            title=case.title,
            stage=case.stage,
            previous_stage=book.stages_at_start.get(case.id, case.stage),
            reply_by=case.reply_by,
            enforcement_at=case.enforcement_at,
            notice_at=case.last_notice_at,
        )
        if moved is not None:
            events.append(moved)
    for each in filed:
        understood = each.entry.understood
        if (
            each.duplicate
            or understood is None
            or understood.notice.authenticity is not Authenticity.SUSPICIOUS
        ):
            continue
        reasons = understood.verdict.reasons if understood.verdict else ()
        events.append(
            notice_suspicious(
                each.entry.dedupe_key,
                understood.notice.facts.account_id,
                subject=understood.notice.title,
                sender=understood.from_address or "",
                reasons="; ".join(reason.en for reason in reasons),
                reasons_ja="; ".join(reason.ja for reason in reasons),
            )
        )
    return events
