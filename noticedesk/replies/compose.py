"""The English reply to AWS: a pure function of a ``ReplyContext`` and the clock.

Two drafts: an **acknowledgement** (we are on it, what is done so far, when we write again) and a
**resolution** (root cause, what changed, what prevents a recurrence, and only then the request
to lift AWS's restrictions), offered once the checklist's required items are done and no action
is left failed. Every sentence about the account comes from the case (``evidence``); what the
person must check or add goes to ``Draft.warnings``, shown before the cut line, never in the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from noticedesk.aws.findings import mask_key
from noticedesk.errors import ReplyError
from noticedesk.replies.evidence import (
    billing,
    cloudtrail,
    measures,
    named_key,
    named_lines,
    root_cause,
    stopped,
)
from noticedesk.replies.gather import ActionRecord, NoticeMail, ReplyContext
from noticedesk.replies.phrasebook import (
    KindInfo,
    abuse_words,
    action_phrase,
    kinds,
    mask_keys,
    render,
    word,
)
from noticedesk.timetext import time_left, utc

Style = Literal["text", "md"]
Variant = Literal["acknowledgement", "resolution"]
VARIANTS: tuple[Variant, ...] = ("acknowledgement", "resolution")
CONFIRM_STEP = "confirm-notice"
"""Ticked when a person confirmed the notice (``fix apply --i-have-verified-this-notice``, or by hand)."""
_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|転送)\s*[:：]\s*)+", re.IGNORECASE)
_NO_REPLY = re.compile(r"^no-?reply", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    case_id: int
    kind: str
    variant: str
    """``acknowledgement`` or ``resolution``."""
    resolution_ready: bool
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
    """What to check or add before sending: for the person, never for AWS."""

    @property
    def status_line(self) -> str:
        items = len(self.open_items)
        parts = [self.variant]
        parts.append(f"{items} checklist item{'s' if items != 1 else ''} open" if items else "checklist done")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "kind": self.kind,
            "variant": self.variant,
            "resolution_ready": self.resolution_ready,
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


def resolution_ready(context: ReplyContext) -> bool:
    """The checklist's required items are done and no action's latest outcome is a failure."""
    return not context.required_open and not context.still_failed


def compose_reply(
    context: ReplyContext, now: datetime, style: Style = "text", variant: Variant | None = None
) -> Draft:
    """The draft reply for one case. Pure: same context and clock, same draft.

    ``variant`` None picks the resolution when it is ready, else the acknowledgement. Asking for
    the resolution before it is ready raises ``ReplyError`` naming what is left.
    """
    case = context.case
    info = kinds()[case.kind] if case.kind in kinds() else kinds()["abuse-report"]
    ready = resolution_ready(context)
    chosen: Variant = variant or ("resolution" if ready else "acknowledgement")
    if chosen == "resolution" and not ready:
        left = len(context.required_open) + len(context.still_failed)
        raise ReplyError(
            f"case {case.id}: no resolution reply yet: {left} required item(s) open or failed "
            f"(noticedesk case show {case.id}); draft the acknowledgement instead"
        )
    warnings: list[str] = []
    if chosen == "acknowledgement" and case.kind.startswith("ses-"):
        warnings.append(
            "The SES review team wants the reply after the changes are made, not a list of plans: "
            "send the resolution reply once it is ready, this acknowledgement only if they asked."
        )
    to, via = _recipient(context, info, warnings)
    actions = _action_lines(context, "en", warnings)
    cause = root_cause(context) if info.root_cause else []
    if info.root_cause and not cause:
        warnings.append(
            "The case records no root cause yet: add one sentence on how it happened "
            "(where the key was exposed, which instance ran what, which feature was abused)."
        )
    trail = cloudtrail(context)
    bill = billing(context)
    if case.kind == "account-compromised":
        if not trail:
            warnings.append("CloudTrail activity of the key was not read: add what CloudTrail shows.")
        warnings.append(
            "NoticeDesk does not read billing: add what Billing and Cost Explorer show "
            "(unexpected charges by service and region, or none)."
        )
    standard = measures(context)
    missing = [measure.text for measure in standard if not measure.in_place]
    if missing and chosen == "resolution":
        warnings.append(
            "Measures the case does not show in place (not in the reply; add those that are true): "
            + " | ".join(missing)
        )
    unchecked = [row for row in context.findings if row.status == "error"]
    if unchecked:
        warnings.append(
            f"{len(unchecked)} check(s) of the diagnosis could not read the account: the reply does not "
            "mention them; fix the access and run the diagnosis again."
        )
    warnings += _clock_warnings(context, now)
    body = render(
        f"reply/{case.kind}.j2" if case.kind in kinds() else "reply/_base.j2",
        keep_keys=context.facts.access_key_ids,
        style=style,
        variant=chosen,
        info=info,
        case=case,
        named=named_lines(context),
        timeline=_timeline_lines(context),
        cause=cause,
        cloudtrail=trail,
        billing=bill,
        actions=actions,
        stopped=stopped(context),
        prevention=[measure.text for measure in standard if measure.in_place],
        mitigations=list(context.facts.mitigations),
        abuse_words=abuse_words(context.facts.abuse_types, "en"),
    )
    thread = context.thread
    return Draft(
        case_id=case.id,
        kind=case.kind,
        variant=chosen,
        resolution_ready=ready,
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


def action_sentence(record: ActionRecord, lang: str) -> tuple[str, bool]:
    """The sentence for one action, and whether the phrase table knew the action."""
    resource = record.resource_id or ("アカウント" if lang == "ja" else "the account")
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
    """Each action whose latest outcome stands, once; warnings only for what is still failed or
    undone (a failure repaired since is not mentioned again)."""
    lines: list[str] = []
    for record in context.effective_actions:
        sentence, known = action_sentence(named_key(record, context), lang)
        if not known:
            warnings.append(
                f"No phrase for action {record.action!r}: reword the line, and add it to "
                "noticedesk/replies/data/phrases.toml."
            )
        if not record.verified:
            warnings.append(f"{sentence}: not verified afterwards; check it before saying so to AWS.")
        lines.append(f"{sentence} ({utc(record.at)}).")
    for record in context.changed_back:
        warnings.append(
            f"{action_sentence(record, lang)[0]} ({utc(record.at)}), but a later diagnosis found it changed "
            "back: contain it again (noticedesk fix apply) before saying so; the reply does not mention it."
        )
    for record in context.still_failed:
        warnings.append(
            f"Action {record.action} on {record.resource_id or 'the account'} failed at {utc(record.at)} "
            "and has not succeeded since; the reply does not mention it."
        )
    for record in context.still_undone:
        warnings.append(
            f"Action {record.action} on {record.resource_id or 'the account'} was undone at "
            f"{utc(record.at)}; the reply does not mention it."
        )
    return lines


def _timeline_lines(context: ReplyContext) -> list[tuple[str, str]]:
    standing = {(record.action_id, record.at): record for record in context.effective_actions}
    health_times = {n.sent_at for n in context.notices if not n.is_mail and n.sent_at}
    mail_times = {n.sent_at for n in context.notices if n.is_mail and n.sent_at}
    investigated = word("event", "diagnosis", "en")
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
            text = investigated
        elif event.type == "action-applied" and (str(event.detail.get("action_id") or ""), at) in standing:
            record = standing[(str(event.detail.get("action_id") or ""), at)]
            text = action_sentence(named_key(record, context), "en")[0]
        elif event.type == "reply-sent":
            text = word("event", "reply-sent", "en")
        else:
            continue
        lines.append((utc(at), text))
    runs = [line for line in lines if line[1] == investigated]
    lines = [line for line in lines if line[1] != investigated or line == runs[-1]]  # the latest run
    return sorted(lines, key=lambda line: line[0])  # stable: within a minute, the recorded order


def _sent_at(detail: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(detail["sent_at"]))
    except (KeyError, ValueError):
        return None


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
