"""The English reply to AWS: a pure function of a ``ReplyContext`` and the clock.

Every sentence about the account comes from the case: its facts, the findings of its latest
diagnosis, the actions on its timeline. Where the case knows nothing yet, the draft says what is
still open instead of filling the gap; ``Draft.warnings`` tells the person what to check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from noticedesk.aws.findings import mask_key
from noticedesk.replies.gather import ActionRecord, NoticeMail, ReplyContext
from noticedesk.replies.phrasebook import (
    KindInfo,
    action_phrase,
    kinds,
    mask_keys,
    prevention,
    render,
    time_left,
    utc,
    word,
)

Style = Literal["text", "md"]
CONFIRM_STEP = "confirm-notice"
"""Ticked when a person confirmed the notice (``fix apply --i-have-verified-this-notice``, or by hand)."""
_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|転送)\s*[:：]\s*)+", re.IGNORECASE)
_NO_REPLY = re.compile(r"^no-?reply", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    case_id: int
    kind: str
    subject: str
    addressee: str
    via: str
    """``mail`` (send to ``to``) or ``support-center`` (paste into the AWS Support Center case)."""
    to: str | None
    from_address: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    body: str
    open_items: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def status_line(self) -> str:
        items = len(self.open_items)
        parts = [f"{items} checklist item{'s' if items != 1 else ''} open" if items else "checklist done"]
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "kind": self.kind,
            "subject": self.subject,
            "addressee": self.addressee,
            "via": self.via,
            "to": self.to,
            "from": self.from_address,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "body": self.body,
            "open_items": list(self.open_items),
            "warnings": list(self.warnings),
        }


def compose_reply(context: ReplyContext, now: datetime, style: Style = "text") -> Draft:
    """The draft reply for one case. Pure: same context and clock, same draft."""
    case = context.case
    info = kinds()[case.kind] if case.kind in kinds() else kinds()["abuse-report"]
    warnings: list[str] = []
    to, via = _recipient(context, info, warnings)
    actions = _action_lines(context, "en", warnings)
    paragraphs = prevention(case.kind, context.facts.abuse_types)
    if paragraphs:
        warnings.append(
            f"The recurrence-prevention paragraphs are the standard ones for {case.kind}: "
            "keep only those that are true for this account before sending."
        )
    if info.root_cause and not context.diagnosed:
        warnings.append("No diagnosis recorded: the root-cause section says it is under investigation.")
    if not context.effective_actions:
        warnings.append("No applied action recorded: the draft says the corrective action is still open.")
    warnings += _clock_warnings(context, now)
    body = render(
        f"reply/{case.kind}.j2" if case.kind in kinds() else "reply/_base.j2",
        style=style,
        info=info,
        case=case,
        facts=masked_facts(context),
        named=_named_lines(context),
        timeline=_timeline_lines(context),
        diagnosed=context.diagnosed,
        failed=[_finding_line(row.detail, row.region) for row in context.failed_findings],
        checked=[_finding_line(row.detail, row.region) for row in context.findings if row.status == "pass"],
        unchecked=[
            _finding_line(row.detail, row.region) for row in context.findings if row.status == "error"
        ],
        actions=actions,
        # The reply itself is one of the open items; AWS need not read about it.
        open_items=[item.text_en for item in context.open_items if not item.key.startswith("reply")],
        prevention=paragraphs,
        mitigations=list(context.facts.mitigations),
        abuse_words=abuse_words(context.facts.abuse_types, "en"),
    )
    thread = context.thread
    return Draft(
        case_id=case.id,
        kind=case.kind,
        subject=mask_keys(reply_subject(context, info)),
        addressee=info.addressee,
        via=via,
        to=to,
        from_address=next((n.to_address for n in reversed(context.notices) if n.to_address), None),
        in_reply_to=thread[-1] if thread else None,
        references=thread,
        body=body,
        open_items=tuple(item.text_en for item in context.open_items),
        warnings=tuple(mask_keys(text) for text in warnings),
    )


def reply_subject(context: ReplyContext, info: KindInfo) -> str:
    """``RE:`` and the notice's own subject, with the case reference and account id AWS files by."""
    first = next((n for n in context.notices if n.is_mail and n.subject), None)
    # A case opened by an AWS Health event has no mail subject to answer: use the kind's own.
    base = _PREFIX.sub("", first.subject).strip() if first else info.default_subject
    if info.subject_tags:
        ref, account = context.case.case_ref, context.case.account_id
        if ref and ref not in base:
            base += f" [{ref}]"
        if account and account not in base:
            base += f" [AWS ID {account}]"
    return f"RE: {base}"


def masked_facts(context: ReplyContext) -> dict[str, Any]:
    facts = context.facts.to_json()
    facts["access_key_ids"] = [mask_key(key) for key in context.facts.access_key_ids]
    facts["abuse_time"] = context.facts.abuse_time
    facts["reply_by"] = context.facts.reply_by
    return facts


def abuse_words(abuse_types: tuple[str, ...], lang: str) -> str:
    words = [word("abuse_type", name, lang) for name in abuse_types]
    joiner = "、" if lang == "ja" else ", "
    return joiner.join(words)


def action_sentence(record: ActionRecord, lang: str) -> tuple[str, bool]:
    """The sentence for one action, and whether the phrase table knew the action."""
    resource = _shown(record.resource_id)
    region = record.region or ("全リージョン" if lang == "ja" else "all regions")
    phrase = action_phrase(record.action, resource, region, lang)
    if phrase is not None:
        return phrase, True
    where = f" ({record.region})" if record.region else ""
    generic = (
        f"{resource}{where} に {record.action} を実施しました"
        if lang == "ja"
        else f"Applied {record.action} to {resource}{where}"
    )
    return generic, False


def _shown(resource_id: str | None) -> str:
    return mask_keys(resource_id) if resource_id else "the account"


def _recipient(context: ReplyContext, info: KindInfo, warnings: list[str]) -> tuple[str | None, str]:
    ref = context.case.case_ref
    where = f"the AWS Support Center case {ref}" if ref else "the AWS Support Center"
    if info.via == "support-center":
        warnings.append(f"Send this through {where}: AWS does not read replies to its notice mail.")
        return None, "support-center"
    sender = _reply_sender(context.notices)
    if sender is None:
        warnings.append(f"The notice came from a no-reply address or not by mail: send this through {where}.")
        return None, "support-center"
    return sender, "mail"


def _reply_sender(notices: tuple[NoticeMail, ...]) -> str | None:
    for notice in reversed(notices):
        address = notice.from_address
        if notice.is_mail and address and not _NO_REPLY.match(address):
            return address
    return None


def _action_lines(context: ReplyContext, lang: str, warnings: list[str]) -> list[str]:
    lines: list[str] = []
    for record in context.effective_actions:
        sentence, known = action_sentence(record, lang)
        if not known:
            warnings.append(
                f"No phrase for action {record.action!r}: reword the line, and add it to "
                "noticedesk/replies/data/phrases.toml."
            )
        if not record.verified:
            warnings.append(f"{sentence}: not verified afterwards; check it before saying so to AWS.")
        lines.append(f"{sentence} ({utc(record.at)}).")
    effective = {record.action_id for record in context.effective_actions}
    for record in context.actions:
        if record.event == "action-failed":
            warnings.append(
                f"Action {record.action} on {_shown(record.resource_id)} failed at {utc(record.at)}; "
                "the reply does not mention it."
            )
        elif record.event == "action-undone" and record.action_id not in effective:
            warnings.append(
                f"Action {record.action} on {_shown(record.resource_id)} was undone at {utc(record.at)}; "
                "the reply does not mention it."
            )
    return lines


def _timeline_lines(context: ReplyContext) -> list[tuple[str, str]]:
    effective = {record.action_id for record in context.effective_actions}
    health_times = {n.sent_at for n in context.notices if not n.is_mail and n.sent_at}
    mail_times = {n.sent_at for n in context.notices if n.is_mail and n.sent_at}
    lines: list[tuple[str, str]] = []
    for event in context.timeline:
        at = event.at
        if event.type == "notice-received":
            stage = str(event.detail.get("stage", "notice"))
            at = _sent_at(event.detail) or event.at  # when AWS sent it: the time AWS knows it by
            if at in health_times and at not in mail_times:
                text = word("event", "health-event", "en")
            else:
                text = word("stage", stage, "en", word("event", event.type, "en"))
        elif event.type == "diagnosis":
            counts = event.detail.get("counts", {})
            text = word("event", "diagnosis", "en").format(
                fail=counts.get("fail", 0), passed=counts.get("pass", 0), error=counts.get("error", 0)
            )
        elif event.type == "action-applied" and event.detail.get("action_id") in effective:
            record = next(r for r in context.effective_actions if r.action_id == event.detail["action_id"])
            text = action_sentence(record, "en")[0]
        elif event.type == "reply-sent":
            text = word("event", "reply-sent", "en")
        else:
            continue
        lines.append((utc(at), text))
    return sorted(lines, key=lambda line: line[0])  # stable: within a minute, the recorded order


def _sent_at(detail: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(detail["sent_at"]))
    except (KeyError, ValueError):
        return None


def _named_lines(context: ReplyContext) -> list[str]:
    """What the notice named, each with what has been done to it since."""
    facts = context.facts
    done: dict[str, list[str]] = {}
    for record in context.effective_actions:
        if record.resource_id:
            done.setdefault(mask_keys(record.resource_id), []).append(action_sentence(record, "en")[0])
    lines: list[str] = []
    for key in facts.access_key_ids:
        owner = f" of IAM user {', '.join(facts.iam_users)}" if facts.iam_users else ""
        lines.append(f"Access key {mask_key(key)}{owner}{_status(done.get(mask_key(key)))}")
    lines += [f"Exposed at {url}" for url in facts.exposed_urls]
    lines += [f"Instance {instance}{_status(done.get(instance))}" for instance in facts.instance_ids]
    if facts.ip_addresses:
        lines.append(f"IP address {', '.join(facts.ip_addresses)}")
    if facts.ports:
        lines.append(f"Port {', '.join(str(port) for port in facts.ports)}")
    if facts.abuse_types and context.case.kind == "abuse-report":
        lines.append(f"Reported activity: {abuse_words(facts.abuse_types, 'en')}")
    if facts.abuse_time:
        lines.append(f"Time of the activity: {utc(facts.abuse_time)}")
    if facts.bounce_rate is not None:
        lines.append(f"Bounce rate stated in your notice: {facts.bounce_rate}%")
    if facts.complaint_rate is not None:
        lines.append(f"Complaint rate stated in your notice: {facts.complaint_rate}%")
    if facts.regions:
        lines.append(f"Region {', '.join(facts.regions)}")
    return lines


def _status(sentences: list[str] | None) -> str:
    return " (acted on: see what we did below)" if sentences else " (no action recorded yet)"


def _finding_line(detail: str, region: str | None) -> str:
    sentence = mask_keys(detail.strip().rstrip("."))
    return f"{sentence} ({region})." if region and region not in sentence else f"{sentence}."


def _clock_warnings(context: ReplyContext, now: datetime) -> list[str]:
    warnings: list[str] = []
    case = context.case
    if case.reply_by is not None and case.reply_by < now:
        late = time_left(case.reply_by, now, "en")
        warnings.append(f"The reply-by time ({utc(case.reply_by)}) has passed, {late}: send this soon.")
    confirmed = any(item.key == CONFIRM_STEP and item.done_at for item in context.checklist)
    if case.authenticity != "verified" and not confirmed:
        warnings.append(
            f"The notice's authenticity is {case.authenticity!r}, not 'verified': confirm it is genuine "
            "(Support Center, Health dashboard) before you reply."
        )
    if case.stage == "resolved":
        warnings.append("AWS has already marked this case resolved.")
    if not context.thread:
        warnings.append("No AWS Message-ID to thread to (the notice was forwarded or came from AWS Health).")
    return warnings
