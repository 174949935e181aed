"""The owner's summary, in Japanese or English: a pure function of a ``ReplyContext`` and the clock.

What AWS said in plain words, what it means, the clocks with the time left, what was found, what
was done, what is left and by when. One template per language (``templates/summary/<lang>.j2``):
the Japanese one is written as a Japanese engineer writes to a customer, not translated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from noticedesk.replies.compose import action_sentence, masked_facts
from noticedesk.replies.gather import ActionRecord, FindingRow, ReplyContext, addresses
from noticedesk.replies.phrasebook import (
    abuse_words,
    kinds,
    mask_keys,
    phrases,
    render,
    render_string,
    word,
)
from noticedesk.timetext import jst, time_left, utc

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
        title=context.title.get(lang) or case.kind,
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
        root_cause=info.root_cause,  # an account on hold: what AWS needs is said above, no cause
        diagnosed=context.diagnosed,
        counts=context.counts,
        failed=[_finding(row, lang) + _since(context, row, lang) for row in context.failed_findings],
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
    """One failed check. In Japanese: the check's headline with the resource and region, then its
    sentence from the catalogue (``[check.*]`` in phrases.toml), both in Japanese."""
    sentence = mask_keys(row.detail.strip().rstrip("."))
    if lang == "en":
        return f"{sentence} ({row.region})" if row.region and row.region not in sentence else sentence
    headline = word("check", row.check, lang, "")
    resource = mask_keys(row.resource_id or "")
    where = "、".join(part for part in (resource, row.region or "") if part)
    template = phrases()["check"].get(row.check, {}).get("sentence_ja")
    if not headline or not template:  # a check this version does not know (an older store)
        return f"{row.check}{f'（{where}）' if where else ''}"
    text = str(template).format(resource=resource or "-", region=row.region or "全リージョン")
    return f"{headline}{f'（{where}）' if where else ''}\n　{text}"


def _since(context: ReplyContext, row: FindingRow, lang: Lang) -> str:
    """A finding acted on after the diagnosis says so: the findings never contradict the actions."""
    acted = any(
        record.resource_id == row.resource_id
        and record.at >= row.found_at
        and addresses(record.action, row.check)
        for record in context.effective_actions
        if record.resource_id
    )
    if not acted:
        return ""
    return "（その後、対応済みです）" if lang == "ja" else " (acted on since: see What we did)"


def _actions(context: ReplyContext, lang: Lang) -> list[dict[str, str]]:
    """The latest outcome of each action, once: a failure repaired since reads as done."""
    when = jst if lang == "ja" else utc
    return [
        {"at": when(record.at), "text": _action_text(record, lang, context)}
        for record in context.latest_outcomes
    ]


def _action_text(record: ActionRecord, lang: Lang, context: ReplyContext) -> str:
    """One action as the owner reads it: done, done but not verified, still failed, or undone."""
    sentence = mask_keys(action_sentence(record, lang)[0])
    if record.event == "action-failed":
        if lang == "ja":
            stem = sentence.removesuffix("しました")
            return (
                f"{stem}する操作が失敗し、まだ成功していません"
                if stem != sentence
                else f"{sentence}（未完了）"
            )
        return f"FAILED, not yet repaired: {sentence}"
    if record.event == "action-undone":
        return f"次の対応を取り消しました: {sentence}" if lang == "ja" else f"Undid: {sentence}"
    if record in context.changed_back:
        if lang == "ja":
            return f"{sentence}。ただし、その後の調査で元に戻されていることが分かりました"
        return f"{sentence}, but a later diagnosis found it changed back"
    if not record.verified:
        return f"{sentence}（結果は未確認）" if lang == "ja" else f"{sentence} (not verified afterwards)"
    return sentence


def _left(context: ReplyContext, lang: Lang, replied: bool) -> list[str]:
    left = [item.text_ja if lang == "ja" else item.text_en for item in context.open_items]
    for record in context.changed_back:
        sentence = mask_keys(action_sentence(record, lang)[0])
        left.append(
            f"元に戻された対応のやり直し（{sentence.removesuffix('しました')}する）"
            if lang == "ja"
            else f"Contain it again, it was changed back: {sentence}"
        )
    for record in context.still_failed:
        sentence = mask_keys(action_sentence(record, lang)[0])
        if lang == "ja":
            stem = sentence.removesuffix("しました")
            left.append(
                f"失敗した対応のやり直し（{stem}する）"
                if stem != sentence
                else f"失敗した対応のやり直し（{sentence}）"
            )
        else:
            left.append(f"Retry the failed action: {sentence}")
    reply_on_checklist = any(item.key.startswith("reply") for item in context.open_items)
    if not replied and not reply_on_checklist and context.case.status not in ("replied", "resolved"):
        left.append(
            "AWS への返信（下書き: noticedesk reply " + str(context.case.id) + "）"
            if lang == "ja"
            else f"Reply to AWS (draft: noticedesk reply {context.case.id})"
        )
    return left
