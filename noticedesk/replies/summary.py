"""The owner's summary, in Japanese or English: a pure function of a ``ReplyContext`` and the clock.

What AWS said in plain words, what it means, the clocks with the time left, what was found, what
was done, what is left and by when. One template per language (``templates/summary/<lang>.j2``):
the Japanese one is written as a Japanese engineer writes to a customer, not translated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from noticedesk.replies.compose import abuse_words, action_sentence, masked_facts
from noticedesk.replies.gather import ActionRecord, FindingRow, ReplyContext
from noticedesk.replies.phrasebook import jst, kinds, mask_keys, render, render_string, time_left, utc, word

Lang = Literal["en", "ja"]
LANGUAGES: tuple[Lang, ...] = ("en", "ja")


@dataclass(frozen=True)
class ClockLine:
    label: str
    at: str
    left: str
    overdue: bool


def compose_summary(context: ReplyContext, lang: Lang, now: datetime) -> str:
    """The summary text for the account owner. Pure: same context and clock, same text."""
    case = context.case
    info = kinds()[case.kind]
    when = jst if lang == "ja" else utc
    facts = masked_facts(context)
    said = render_string(
        info.said[lang],
        facts=facts,
        words={
            "abuse_types_en": abuse_words(context.facts.abuse_types, "en"),
            "abuse_types_ja": abuse_words(context.facts.abuse_types, "ja"),
        },
    )
    first = context.first_notice
    replied = any(event.type == "reply-sent" for event in context.timeline)
    return render(
        f"summary/{lang}.j2",
        style="text",
        case=case,
        title=info.title[lang],
        said=said,
        means=info.means[lang],
        notice_at=when(first.sent_at or first.received_at) if first else when(case.opened_at),
        notices=len(context.notices),
        clocks=_clocks(context, lang, now),
        clock_note=context.clock_note_ja if lang == "ja" else context.clock_note_en,
        mitigations=[
            word("mitigation", label, lang, label) if lang == "ja" else label
            for label in context.facts.mitigations
        ],
        diagnosed=context.diagnosed,
        counts=context.counts,
        failed=[_finding(row, lang) for row in context.failed_findings],
        actions=_actions(context, lang),
        left=_left(context, lang, replied),
        replied=replied,
        deadline=_deadline(context, lang, now),
    )


def _clocks(context: ReplyContext, lang: Lang, now: datetime) -> list[ClockLine]:
    labels = {
        "reply_by": {"en": "Reply to AWS by", "ja": "AWS への返信期限"},
        "enforcement_at": {"en": "AWS may act from", "ja": "AWS が措置を取る目安"},
    }
    when = jst if lang == "ja" else utc
    lines: list[ClockLine] = []
    for name, value in (("reply_by", context.case.reply_by), ("enforcement_at", context.case.enforcement_at)):
        if value is not None:
            lines.append(ClockLine(labels[name][lang], when(value), time_left(value, now, lang), value < now))
    return lines


def _deadline(context: ReplyContext, lang: Lang, now: datetime) -> str | None:
    """The one date the remaining work must beat: the reply-by clock, else when AWS acts."""
    case = context.case
    when = jst if lang == "ja" else utc
    if case.reply_by is not None:
        label = "返信期限は" if lang == "ja" else "Reply to AWS by"
        value = case.reply_by
    elif case.enforcement_at is not None:
        label = "AWS が措置を取る目安は" if lang == "ja" else "Finish before AWS acts, from"
        value = case.enforcement_at
    else:
        return None
    if lang == "ja":
        return f"{label} {when(value)}です（{time_left(value, now, lang)}）。"
    return f"{label} {when(value)} ({time_left(value, now, lang)})."


def _finding(row: FindingRow, lang: Lang) -> str:
    """One failed check. In Japanese: what it found, on which resource and where, then its sentence
    as the check wrote it (English, the words AWS's consoles use), on a line of its own."""
    sentence = mask_keys(row.detail.strip().rstrip("."))
    if lang == "en":
        return f"{sentence} ({row.region})" if row.region and row.region not in sentence else sentence
    headline = word("check", row.check, lang, "")
    if not headline:  # a check this version does not know (an older store): its sentence alone
        return _finding(row, "en")
    where = "、".join(part for part in (mask_keys(row.resource_id or ""), row.region or "") if part)
    return f"{headline}{f'（{where}）' if where else ''}\n　{sentence}"


def _actions(context: ReplyContext, lang: Lang) -> list[dict[str, str]]:
    when = jst if lang == "ja" else utc
    return [{"at": when(record.at), "text": _action_text(record, lang)} for record in context.actions]


def _action_text(record: ActionRecord, lang: Lang) -> str:
    """One action as the owner reads it: done, done but not verified, failed, or undone."""
    sentence, _known = action_sentence(record, lang)
    if record.event == "action-failed":
        if lang == "ja":
            stem = sentence.removesuffix("しました")
            return f"{stem}する操作が失敗しました" if stem != sentence else f"{sentence}（失敗）"
        return f"FAILED: {record.action} on {mask_keys(record.resource_id or '-')}"
    if record.event == "action-undone":
        return f"次の対応を取り消しました: {sentence}" if lang == "ja" else f"Undid: {sentence}"
    if not record.verified:
        return f"{sentence}（結果は未確認）" if lang == "ja" else f"{sentence} (not verified afterwards)"
    return sentence


def _left(context: ReplyContext, lang: Lang, replied: bool) -> list[str]:
    left = [item.text_ja if lang == "ja" else item.text_en for item in context.open_items]
    for record in context.actions:
        if record.event == "action-failed" and record.action_id not in {
            r.action_id for r in context.effective_actions
        }:
            resource = mask_keys(record.resource_id or "-")
            left.append(
                f"失敗した対応（{record.action}、{resource}）のやり直し"
                if lang == "ja"
                else f"Retry the failed action {record.action} on {resource}"
            )
    reply_on_checklist = any(item.key.startswith("reply") for item in context.open_items)
    if not replied and not reply_on_checklist and context.case.status not in ("replied", "resolved"):
        left.append(
            "AWS への返信（下書き: noticedesk reply " + str(context.case.id) + "）"
            if lang == "ja"
            else f"Reply to AWS (draft: noticedesk reply {context.case.id})"
        )
    return left
