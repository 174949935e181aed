"""Find the AWS original inside a mail that a customer forwarded to us.

Three shapes are seen: the original attached as message/rfc822; the original pasted inline after
a marker line ("---------- Forwarded message ---------", "-------- 転送メッセージ --------",
"Begin forwarded message:", and, when the subject says it is a forward, "-----Original
Message-----" or Outlook's line of underscores) followed by its own header lines; and the
original quoted with ">". What gets classified is the original.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from email.utils import parsedate_tz

from noticedesk.mail.parse import (
    _PLAIN_DATE,
    ParsedMail,
    _first_address,
    attached_messages,
    parse_date,
    parse_message,
)

FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:fwd?|fw|tr|wg|転送|転|rv)\s*[:：]\s*)+", re.IGNORECASE)
# Markers that only a forward writes.
_FORWARD_MARKER = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:forwarded message|転送(?:された)?メッセージ)\s*-{2,}|begin forwarded message:)"
    r"[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Markers that replies write too: they count only when the subject says "forward".
_REPLY_MARKER = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:original message|元のメッセージ)\s*-{2,}|_{10,})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LINE = re.compile(
    r"^\s*\**(from|date|sent|subject|to|cc|差出人|送信者|送信日時|日付|件名|宛先|cc)\**\s*[:：]\s*(.*)$",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(r"^\s*\**(?:from|差出人|送信者)\**\s*[:：]", re.IGNORECASE | re.MULTILINE)
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
# Mail programs write the forwarded Date in the forwarder's words and local time.
_WEEKDAY = re.compile(r"^\s*(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*", re.IGNORECASE)
_JA_WEEKDAY = re.compile(r"\s*[(（][月火水木金土日][)）]\s*")
_ZONE = re.compile(r"\s+(UTC|GMT|JST|KST|PST|PDT|EST|EDT|CET|CEST)$", re.IGNORECASE)
_ZONE_HOURS = {"UTC": 0, "GMT": 0, "JST": 9, "KST": 9, "PST": -8, "PDT": -7, "EST": -5, "EDT": -4}
_ZONE_HOURS |= {"CET": 1, "CEST": 2}
_DATE_FORMATS = (
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y %I:%M %p",
    "%b %d, %Y %I:%M:%S %p",
    "%B %d, %Y %I:%M:%S %p",
    "%B %d, %Y %H:%M:%S",
    "%B %d, %Y %H:%M",
    "%d %B %Y %H:%M",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M",
)


def forwarded_date(value: str | None, local_zone: timezone | None) -> datetime | None:
    """A forwarded Date line: RFC 5322, or as Gmail, Outlook, Apple Mail and Japanese clients write it.

    A time without a zone is read in ``local_zone`` (the forwarder's own Date header's offset).
    """
    if not value:
        return None
    if _PLAIN_DATE.fullmatch(value):
        # An RFC 5322 date ("Thu, 01 Jan 2026 00:07:00 +0000", as the bench's Gmail forwards
        # write it) fits none of the clients' shapes below (each one's strptime fails, slowly)
        # and states its zone: the answer is parse_date's.
        return parse_date(value)
    return _client_date(value, local_zone)


def _client_date(value: str, local_zone: timezone | None) -> datetime | None:
    cleaned = _JA_WEEKDAY.sub(" ", _WEEKDAY.sub("", value)).replace(" at ", " ")
    cleaned = " ".join(cleaned.replace("\u202f", " ").split())
    zone = local_zone
    named = _ZONE.search(cleaned)
    if named:
        zone = timezone(timedelta(hours=_ZONE_HOURS[named.group(1).upper()]))
        cleaned = cleaned[: named.start()]
    for fmt in _DATE_FORMATS:  # the clients' own shapes first: email.utils reads "PM" as a zone
        try:
            parsed = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=zone or UTC).astimezone(UTC)
    fields = parsedate_tz(value)
    if fields is None:
        return None
    exact = parse_date(value)
    if exact is None or fields[9] is not None:
        return exact
    return exact.replace(tzinfo=zone or UTC).astimezone(UTC)  # RFC 5322 without a zone


def _local_zone(parsed: ParsedMail) -> timezone | None:
    for value in parsed.header("Date"):
        fields = parsedate_tz(value)
        if fields and fields[9] is not None:
            return timezone(timedelta(seconds=fields[9]))
    return None


def _unquote(text: str) -> str:
    lines = text.splitlines()
    quoted = [line for line in lines if line.startswith(">")]
    if len(quoted) < max(3, len([line for line in lines if line.strip()]) // 2):
        return text
    return "\n".join(re.sub(r"^(?:>\s?)+", "", line) if line.startswith(">") else line for line in lines)


def _headers_and_body(text: str) -> tuple[dict[str, str], str] | None:
    """The pasted original's header lines and body; ``None`` when no From or Subject line leads it."""
    rest = _unquote(text).lstrip("\n").splitlines()
    headers: dict[str, str] = {}
    body_start = len(rest)
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
    if "from" not in headers and "subject" not in headers:
        return None
    return headers, "\n".join(rest[body_start:]).strip()


def _may_have_forward_marker(text: str) -> bool:
    """Whether ``_FORWARD_MARKER`` can match: each of its markers has "転送" or "forwarded" in it.

    Substring scans cost a fraction of the pattern's (case-blind, tried at every position), and most
    notices are not forwards. No letter of "forwarded" has a non-ASCII case twin that ``re`` would
    match, so lower() finds every spelling the pattern matches.
    """
    return "転送" in text or "forwarded" in text.lower()


def _inline_original(text: str, is_forward: bool) -> tuple[dict[str, str], str] | None:
    markers = [_FORWARD_MARKER.search(text) if _may_have_forward_marker(text) else None]
    if is_forward:
        markers.append(_REPLY_MARKER.search(text))
    found = [marker for marker in markers if marker is not None]
    if found:
        first = min(found, key=lambda marker: marker.start())
        return _headers_and_body(text[first.end() :])
    if not is_forward:
        return None
    # A forward with no marker line (quoted with ">", or an HTML forward whose separator was a
    # rule): the original starts at its first "From:" line.
    unquoted = _unquote(text)
    start = _FROM_LINE.search(unquoted)
    return _headers_and_body(unquoted[start.start() :]) if start else None


def original_of(message: Message, parsed: ParsedMail) -> ParsedMail:
    """The forwarded original when this mail is a forward; the mail itself otherwise."""
    is_forward = bool(FORWARD_SUBJECT.match(parsed.subject))
    customer = parsed.from_address
    blank = not parsed.text or parsed.text.isspace()  # "not text.strip()" without copying the text
    attached = attached_messages(message) if is_forward or blank else []
    if attached:
        return parse_message(attached[0], forwarded_by=customer)
    inline = _inline_original(parsed.text, is_forward)
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
        date=forwarded_date(headers.get("date"), _local_zone(parsed)) or parsed.date,
        forwarded_by=customer,
    )
