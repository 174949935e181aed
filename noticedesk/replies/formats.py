"""A ``Draft`` as a person reads it (text, Markdown) or as a mail program sends it (RFC 5322)."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from noticedesk.replies.compose import Draft

# Long subjects (case reference + account id) stay on one line: folding them before the first
# word leaves a leading space some mail programs keep. RFC 5322 allows 998 characters a line.
_POLICY = policy.default.clone(max_line_length=998)


def as_text(draft: Draft) -> str:
    """Header lines for the person, then the reply itself below a cut line."""
    lines = [
        f"Draft reply for case #{draft.case_id}: {draft.status_line}",
        _which(draft),
        f"To:      {_to_line(draft)}",
        f"Subject: {draft.subject}",
    ]
    if draft.in_reply_to:
        lines.append(f"In-Reply-To: {draft.in_reply_to}")
    lines += _notes(draft, markdown=False)
    lines += ["", "-------- 8< -------- the reply starts below this line", ""]
    return "\n".join(lines) + "\n" + draft.body


def as_markdown(draft: Draft) -> str:
    lines = [
        f"# {draft.subject}",
        "",
        f"*Draft reply for case #{draft.case_id}: {draft.status_line}.*",
        "",
        f"*{_which(draft)}*",
        "",
        f"- **To:** {_to_line(draft)}",
    ]
    if draft.in_reply_to:
        lines.append(f"- **In-Reply-To:** `{draft.in_reply_to}`")
    lines += _notes(draft, markdown=True)
    return "\n".join(lines) + "\n\n---\n\n" + draft.body


def as_eml(draft: Draft, now: datetime) -> str:
    """A ready-to-send message threaded to the AWS notice. NoticeDesk never sends it itself."""
    message = EmailMessage(policy=_POLICY)
    if draft.from_address:
        message["From"] = draft.from_address
    if draft.to:
        message["To"] = draft.to
    message["Subject"] = draft.subject
    message["Date"] = format_datetime(now)
    domain = draft.from_address.rpartition("@")[2] if draft.from_address else "noticedesk.invalid"
    message["Message-ID"] = make_msgid(domain=domain)
    if draft.in_reply_to:
        message["In-Reply-To"] = draft.in_reply_to
        message["References"] = " ".join(draft.references)
    # Nothing about NoticeDesk travels to AWS: the case and the notes stay in the store
    # (the reply-drafted event) and in the text and Markdown drafts.
    message.set_content(draft.body, charset="utf-8")
    return message.as_string()


def _which(draft: Draft) -> str:
    """Which of the two drafts this is, and whether the other one can be had."""
    if draft.variant == "resolution":
        return "The resolution reply: the required checklist items are done."
    if draft.resolution_ready:
        return "The acknowledgement (--variant resolution drafts the resolution reply: it is ready)."
    return "The acknowledgement: the resolution reply is offered once the required checklist items are done."


def _to_line(draft: Draft) -> str:
    if draft.to:
        return f"{draft.addressee} <{draft.to}>"
    return f"{draft.addressee}: paste into the AWS Support Center case"


def _notes(draft: Draft, markdown: bool) -> list[str]:
    """The open checklist items and the warnings, for the person and never for AWS."""
    lines: list[str] = []
    for title, entries, mark in (
        ("Open checklist items", draft.open_items, "[ ] "),
        ("Before you send", draft.warnings, ""),
    ):
        if not entries:
            continue
        lines += ["", f"**{title}:**", ""] if markdown else ["", f"{title}:"]
        lines += [f"{'-' if markdown else ' '} {mark}{entry}" for entry in entries]
    return lines
