"""Bytes of one RFC 5322 message to a ``ParsedMail``: headers decoded, the best body as text.

The stdlib compat32 ``Message`` with explicit decoding is used on purpose: ``email.policy.default``
is about ten times slower, and a shared mailbox can hold tens of thousands of notices. Where this
module takes a shortcut, each held equal to the general reader by a test: docs/performance.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from email.errors import CloseBoundaryNotFoundDefect, HeaderParseError, StartBoundaryNotFoundDefect
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from typing import Any

from noticedesk.errors import ParseError
from noticedesk.mail.contenttype import charset_of, content_type_of
from noticedesk.mail.fastmime import parse_fast
from noticedesk.mail.html import html_to_text
from noticedesk.text import without_nul

_TRUNCATION_DEFECTS = (CloseBoundaryNotFoundDefect, StartBoundaryNotFoundDefect)
_PARSER = BytesParser()  # compat32 policy: fast, lenient
_MAX_TEXT_CHARS = 400_000  # notices are short; a huge body is read only this far
_SNIFF_BYTES = 65_536
_MAX_PARSE_BYTES = 8 * 1_048_576
MAX_NESTED_MESSAGES = 10
"""message/rfc822 inside message/rfc822: a forward of a forward; deeper than this is refused."""
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# "Fri, 27 Nov 2026 03:00:00 +0000" and the same without the weekday: read directly, with the
# results of email.utils.parsedate_to_datetime (tests/test_parse.py holds them equal).
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
_PLAIN_DATE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) (" + "|".join(_MONTHS) + r") ([1-9][0-9]{3}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)
# "<local@domain>" or "local@domain" of plain atoms: what getaddresses returns for it is the address.
_PLAIN_ADDRESS = re.compile(
    r"(<)?([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?(1)>)"
)
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_LINK_TAG_START = re.compile(r"<[aA]")
_SCHEME_SEPARATOR = re.compile("://")
_URL_TAIL_END = re.compile(r"[\s<>\"')\]]")
_CHARSET_ALIASES = {
    "x-sjis": "shift_jis",
    "sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "windows-31j": "cp932",
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
}


@dataclass(frozen=True)
class ParsedMail:
    from_address: str
    from_name: str
    subject: str
    text: str
    date: datetime | None = None
    message_id: str | None = None
    thread_ids: tuple[str, ...] = ()
    reply_to: str = ""
    return_path: str = ""
    links: tuple[tuple[str, str], ...] = ()
    """(visible text, target URL) for every link in the body."""
    warnings: tuple[str, ...] = ()
    forwarded_by: str | None = None
    """The customer address that forwarded this AWS original to us, if any."""
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def from_domain(self) -> str:
        return domain_of(self.from_address)

    def header(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(".").lower()


def decode_words(value: str | Header | None) -> str:
    """An RFC 2047 header value to text; undecodable words are kept as they are.

    compat32 hands back a ``Header`` (not a ``str``) for a header holding raw 8-bit bytes.
    """
    if not value:
        return ""
    if isinstance(value, str):
        if "=?" not in value:  # no encoded word: what decode_header returns
            return " ".join(value.split())
        return _decoded_text(value)
    return _decoded(value)


def _decoded(value: str | Header) -> str:
    try:
        parts = decode_header(value)
    except (HeaderParseError, ValueError, LookupError):
        return " ".join(str(value).split())
    chunks: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            chunks.append(chunk)
        else:
            chunks.append(decode_bytes(chunk, charset or "us-ascii")[0])
    return " ".join("".join(chunks).split())


# Encoded subjects and senders repeat from notice to notice, and decoding one costs ~15 us.
_decoded_text = lru_cache(maxsize=1024)(_decoded)


def decode_bytes(data: bytes, charset: str) -> tuple[str, str | None]:
    """Decode with the declared charset; on an unknown or wrong one, fall back and say so."""
    name = _CHARSET_ALIASES.get(charset.lower(), charset)
    try:
        return data.decode(name), None
    except UnicodeDecodeError:
        warning = f"text is not valid {charset}"
    except (LookupError, ValueError):  # no such codec, or one that is not a text charset ("idna")
        warning = f"unknown charset {charset!r}"
    for fallback in ("utf-8", "cp932"):
        try:
            return data.decode(fallback), f"{warning}; decoded as {fallback}"
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace"), f"{warning}; undecodable bytes replaced"


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        plain = _PLAIN_DATE.fullmatch(value)
        if plain:  # the shape mail servers write: read without parsedate_to_datetime's general parser
            day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = plain.groups()
            offset = (int(zone_hours) * 3600 + int(zone_minutes) * 60) * (-1 if sign == "-" else 1)
            zone = timezone(timedelta(seconds=offset))
            parsed = datetime(
                int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), 0, zone
            )
            return parsed.astimezone(UTC)
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: "31 Dec 9999 -1200"
        return None


def _first_address(value: str) -> tuple[str, str]:
    """The first (display name, lower-case address) in a From / Reply-To / Return-Path value."""
    plain = _PLAIN_ADDRESS.fullmatch(value)
    if plain:  # "<bounce-…@amazonses.com>" differs in every notice: no cache would hold it
        return "", plain.group(2).lower()
    return _parsed_address(value)


@lru_cache(maxsize=4096)  # senders repeat from notice to notice; getaddresses is slow
def _parsed_address(value: str) -> tuple[str, str]:
    pairs = getaddresses([value]) if value else []
    for name, address in pairs:
        if address:
            return name, address.strip().lower()
    return "", ""


def _body_part_text(part: Message, fields: dict[str, Any], warnings: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = charset_of(part, fields.get("content-type"))
    text, warning = decode_bytes(payload[: _MAX_TEXT_CHARS * 4], charset or "us-ascii")
    if warning:
        warnings.append(warning)
    # Mails travel with CRLF line ends; the line-anchored patterns downstream expect LF.
    return text.replace("\r\n", "\n") if "\r" in text else text


def _is_attachment(part: Message, fields: dict[str, Any]) -> bool:
    disposition = fields.get("content-disposition")
    if disposition is None:
        # get_filename() reads a "name" parameter of Content-Type: no such word, no such parameter.
        content_type = fields.get("content-type")
        return content_type is not None and "name" in str(content_type).lower() and bool(part.get_filename())
    return bool(part.get_filename()) or str(disposition).lower().startswith("attachment")


def _best_body(
    message: Message, fields: dict[str, Any], warnings: list[str]
) -> tuple[str, list[tuple[str, str]]]:
    """The body text and links; ``fields`` are ``message``'s first header values (``_first_values``)."""
    plain: str | None = None
    html: str | None = None
    for part in message.walk():
        if part.is_multipart():
            continue
        part_fields = fields if part is message else _first_values(_items(part))
        # Content type first: the attachment check only matters for the two types read, once each.
        content_type = content_type_of(part, part_fields.get("content-type"))
        if content_type == "text/plain" and plain is None and not _is_attachment(part, part_fields):
            plain = _body_part_text(part, part_fields, warnings)
        elif content_type == "text/html" and html is None and not _is_attachment(part, part_fields):
            html = _body_part_text(part, part_fields, warnings)
    html_links: list[tuple[str, str]] = []
    if html is not None:
        if not plain or plain.isspace():  # "not plain.strip()" without copying the text
            plain, html_links = html_to_text(html)
        elif _LINK_TAG_START.search(html):  # HTMLParser's "a" tag starts so: no "<a", no link to read
            html_links = html_to_text(html)[1]
    text = (plain or "")[:_MAX_TEXT_CHARS]
    links = html_links or _text_links(text)
    return text, links


def _text_links(text: str) -> list[tuple[str, str]]:
    """``_URL.findall(text)`` as links, the case-blind pattern tried only where a URL can be.

    Every match holds "://" (a literal search is much cheaper than the pattern), starts at most 5
    characters before the first one, and ends at or before the first character its tail stops at
    after the last one.
    """
    # ":" alone is a memchr; re finds a literal faster than str.find does a short one.
    found = _SCHEME_SEPARATOR.search(text) if ":" in text else None
    if found is None:
        return []
    first, last = found.start(), text.rfind("://")
    stop = _URL_TAIL_END.search(text, last + 3)
    return [(url, url) for url in _URL.findall(text, max(0, first - 5), stop.start() if stop else len(text))]


def nested_depth(message: Message) -> int:
    """How many message/rfc822 levels lie inside ``message``, counted without recursion."""
    deepest = 0
    pending: list[tuple[Message, int]] = [(message, 0)]
    while pending:
        part, depth = pending.pop()
        deepest = max(deepest, depth)
        if part.is_multipart():  # a message/rfc822 part counts as one too; nothing is decoded
            inner = depth + 1 if part.get_content_type() == "message/rfc822" else depth
            pending.extend((child, inner) for child in part.get_payload() if isinstance(child, Message))
    return deepest


def attached_messages(message: Message) -> list[Message]:
    """Messages attached as message/rfc822 (a customer's "forward as attachment")."""
    found: list[Message] = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found.append(inner[0])
    return found


def _looks_like_mail(raw: bytes, message: Message, read_defects: bool) -> str | None:
    if not raw or raw.isspace():  # "not raw.strip()", without copying the message
        return "empty input"
    if raw.find(b"\x00", 0, _SNIFF_BYTES) >= 0:
        return "binary data, not an RFC 5322 message"
    if not any(message.get(name) for name in ("From", "Subject", "Date", "Message-ID")):
        return "no From, Subject, Date or Message-ID header: not an RFC 5322 message"
    for part in message.walk() if read_defects else ():
        for defect in part.defects:
            if isinstance(defect, _TRUNCATION_DEFECTS):
                return f"truncated MIME: a {part.get_content_type()} part ends without its closing boundary"
    return None


def parse_message(message: Message, forwarded_by: str | None = None) -> ParsedMail:
    warnings: list[str] = []
    first, headers = _header_values(message)

    def text_of(name: str) -> str:
        value = first.get(name)
        if value is None:
            return ""
        return without_nul(value if isinstance(value, str) else decode_words(value))

    def words(name: str) -> str:
        return without_nul(decode_words(first.get(name)))

    from_name, from_address = _first_address(words("from"))
    references = f"{text_of('in-reply-to')} {text_of('references')}"
    text, links = _best_body(message, first, warnings)
    thread_ids = tuple(dict.fromkeys(_MESSAGE_ID.findall(references)))
    message_ids = _MESSAGE_ID.findall(text_of("message-id"))
    return ParsedMail(
        from_address=from_address,
        from_name=from_name,
        subject=words("subject"),
        text=without_nul(text),
        date=parse_date(text_of("date")),
        message_id=message_ids[0] if message_ids else None,
        thread_ids=thread_ids,
        reply_to=_first_address(words("reply-to"))[1],
        return_path=_first_address(text_of("return-path"))[1],
        links=tuple(links),
        warnings=tuple(warnings),
        forwarded_by=forwarded_by,
        headers=headers,
    )


def _header_values(message: Message) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    """``_first_values`` of the message, and each header as one line of text, in one pass."""
    first: dict[str, Any] = {}
    lines: list[tuple[str, str]] = []
    for name, value in _items(message):
        first.setdefault(name.lower(), value)
        # decode_words(str(value)), its first test inlined: a call per header costs more than it does
        if isinstance(value, str) and "=?" not in value:
            lines.append((name, " ".join(value.split())))
        else:
            lines.append((name, decode_words(str(value))))
    return first, tuple(lines)


def _first_values(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """What ``message.get(name)`` returns, by lower-case name: one pass instead of a scan per name."""
    first: dict[str, Any] = {}
    for key, value in items:
        first.setdefault(key.lower(), value)
    return first


def _items(message: Message) -> list[tuple[str, Any]]:
    """``message.items()``; compat32 hands an ASCII value back as it is, so only the others go through it."""
    if message.policy is not compat32:
        return message.items()
    fetch = compat32.header_fetch_parse
    return [
        (name, value if isinstance(value, str) and value.isascii() else fetch(name, value))
        for name, value in message.raw_items()
    ]


def parse_bytes(raw: bytes, source: str, index: int | None = None) -> tuple[Message, ParsedMail]:
    """Parse one message; raise ``ParseError`` (naming the source) when it is not a mail.

    Only the first ``_MAX_PARSE_BYTES`` are parsed: a notice is a few kilobytes, and a forward
    with a 50 MB attachment must not cost a million parsed lines (the raw bytes are kept whole).
    """
    cut = len(raw) > _MAX_PARSE_BYTES
    try:
        fast = None if cut else parse_fast(raw)
        message = fast if fast is not None else _PARSER.parsebytes(raw[:_MAX_PARSE_BYTES] if cut else raw)
    except RecursionError as error:  # the parser recurses once per nested part
        raise ParseError(source, "MIME parts nested too deeply: not read", index) from error
    except Exception as error:  # compat32 is lenient; anything it still raises is "not MIME"
        raise ParseError(source, f"cannot parse MIME: {error}", index) from error
    if nested_depth(message) > MAX_NESTED_MESSAGES:  # before anything walks it recursively
        reason = f"messages attached inside attached messages more than {MAX_NESTED_MESSAGES} deep: not read"
        raise ParseError(source, reason, index)
    # A cut message is truncated on purpose; the fast parser takes no message with a defect.
    problem = _looks_like_mail(raw, message, read_defects=not cut and fast is None)
    if problem:
        raise ParseError(source, problem, index)
    parsed = parse_message(message)
    if cut:
        note = (
            f"message is {len(raw) / 1_048_576:.0f} MB: only its first "
            f"{_MAX_PARSE_BYTES // 1_048_576} MB were read (all of it is stored)"
        )
        parsed = replace(parsed, warnings=(*parsed.warnings, note))
    return message, parsed
