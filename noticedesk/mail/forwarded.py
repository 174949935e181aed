"""Find the AWS original inside a mail that a customer forwarded to us.

Three shapes are seen: the original attached as message/rfc822; the original pasted inline after
a marker line ("---------- Forwarded message ---------", "-------- 転送メッセージ --------",
"-----Original Message-----", "Begin forwarded message:") followed by its own header lines;
and the original quoted with ">". What gets classified is the original.
"""

from __future__ import annotations

import re
from dataclasses import replace
from email.message import Message

from noticedesk.mail.parse import (
    ParsedMail,
    _first_address,
    attached_messages,
    parse_date,
    parse_message,
)

FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:fwd?|fw|tr|wg|転送|転|rv)\s*[:：]\s*)+", re.IGNORECASE)
_MARKER = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:forwarded message|original message|転送(?:された)?メッセージ|元のメッセージ)"
    r"\s*-{2,}|begin forwarded message:|-{3,}\s*original message\s*-{3,})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LINE = re.compile(
    r"^\s*\**(from|date|sent|subject|to|cc|差出人|送信者|送信日時|日付|件名|宛先|cc)\**\s*[:：]\s*(.*)$",
    re.IGNORECASE,
)
_HEADER_NAMES = {
    "from": "from",
    "差出人": "from",
    "送信者": "from",
    "date": "date",
    "sent": "date",
    "送信日時": "date",
    "日付": "date",
    "subject": "subject",
    "件名": "subject",
}


def _unquote(text: str) -> str:
    lines = text.splitlines()
    quoted = [line for line in lines if line.startswith(">")]
    if len(quoted) < max(3, len([line for line in lines if line.strip()]) // 2):
        return text
    return "\n".join(re.sub(r"^(?:>\s?)+", "", line) if line.startswith(">") else line for line in lines)


def _inline_original(text: str) -> tuple[dict[str, str], str] | None:
    marker = _MARKER.search(text)
    if marker is None:
        return None
    rest = _unquote(text[marker.end() :]).lstrip("\n").splitlines()
    headers: dict[str, str] = {}
    body_start = 0
    for number, line in enumerate(rest):
        match = _HEADER_LINE.match(line)
        if match:
            name = _HEADER_NAMES.get(match.group(1).lower())
            if name and name not in headers:
                headers[name] = match.group(2).strip()
            continue
        if not line.strip() and not headers:
            continue
        body_start = number
        break
    else:
        body_start = len(rest)
    return headers, "\n".join(rest[body_start:]).strip()


def original_of(message: Message, parsed: ParsedMail) -> ParsedMail:
    """The forwarded original when this mail is a forward; the mail itself otherwise."""
    is_forward = bool(FORWARD_SUBJECT.match(parsed.subject))
    customer = parsed.from_address
    attached = attached_messages(message)
    if attached and (is_forward or not parsed.text.strip()):
        return parse_message(attached[0], forwarded_by=customer)
    inline = _inline_original(parsed.text)
    if inline is None:
        if not is_forward:
            return parsed
        return replace(
            parsed,
            subject=FORWARD_SUBJECT.sub("", parsed.subject),
            text=_unquote(parsed.text),
            forwarded_by=customer,
        )
    headers, body = inline
    from_name, from_address = _first_address(headers.get("from", ""))
    return replace(
        parsed,
        from_address=from_address or parsed.from_address,
        from_name=from_name,
        subject=headers.get("subject") or FORWARD_SUBJECT.sub("", parsed.subject),
        text=body,
        date=parse_date(headers.get("date")) or parsed.date,
        forwarded_by=customer,
    )
