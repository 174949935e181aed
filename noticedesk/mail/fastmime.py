"""The same ``Message`` that compat32's ``BytesParser`` builds, for the plain shapes notices come in.

Any other shape (whatever the feedparser would record as a defect, too) returns ``None`` and the
caller runs the stdlib parser. The feedparser rules followed, the shapes refused and what it
saves: docs/performance.md; tests/test_fastmime.py compares both parsers.
"""

from __future__ import annotations

import re
from email.message import Message
from itertools import pairwise

from noticedesk.mail.contenttype import boundary_of, content_type_of

# A header field: a name of RFC 5322 ftext (what the feedparser's headerRE accepts), a colon, the
# value and its continuation lines. "." stops at LF only: a CR is allowed only before an LF (checked
# apart, it costs less than excluding CR from "." in the pattern).
_HEADER_BLOCK = re.compile(r"(?:[!-9;-~]+:.*\n(?:[ \t].*\n)*)*")
# (name, value) of each field of a block _HEADER_BLOCK matched; the value as compat32's
# header_source_parse makes it: blanks after the colon stripped, the last line end cut.
_FIELDS = re.compile(r"([!-9;-~]+):[ \t]*(.*(?:\n[ \t].*)*)\n")
# What may follow "--boundary" on a boundary line (the feedparser's boundaryre): "--" for the close
# boundary, blanks, the line end (or the end of the message).
_BOUNDARY_LINE_END = re.compile(r"(--)?[ \t]*(?:\r?\n|\Z)")
_PLAIN_TRANSFER_ENCODINGS = ("7bit", "8bit", "binary")
_MAX_DEPTH = 4


def parse_fast(raw: bytes) -> Message | None:
    """The message compat32's ``BytesParser().parsebytes(raw)`` returns, or ``None``: parse it there."""
    text = raw.decode("ascii", "surrogateescape")  # what BytesParser does first
    message = Message()
    body = _read_headers(message, text, 0, len(text))
    if body is None or not _read_body(message, text, body, len(text), (), nested=False):
        return None
    return message


def _read_headers(message: Message, text: str, start: int, end: int) -> int | None:
    """Store the fields of ``text[start:end]``'s header block; where its body starts, or ``None``."""
    block_end = _HEADER_BLOCK.match(text, start, end).end()  # type: ignore[union-attr]  # "*" always matches
    if text.startswith("\n", block_end, end):
        body = block_end + 1
    elif text.startswith("\r\n", block_end, end):
        body = block_end + 2
    else:
        return None
    if block_end == start:
        return body
    fields = _FIELDS.findall(text, start, block_end)
    if "\r" not in text:
        for name, value in fields:
            message.set_raw(name, value)
        return body
    if text.count("\r", start, block_end) != text.count("\r\n", start, block_end):
        return None  # a bare CR: the feedparser ends a line there
    for name, value in fields:
        # With CRLF line ends "." took the CR of the field's last line: cut it as the last LF was.
        message.set_raw(name, value[:-1] if value.endswith("\r") else value)
    return body


def _read_body(
    message: Message, text: str, start: int, end: int, enclosing: tuple[str, ...], nested: bool
) -> bool:
    """Set the payload of ``message`` from ``text[start:end]``; ``False`` for a shape not handled."""
    header = message.get("Content-Type")
    content_type = content_type_of(message, header)
    if content_type.startswith("message/"):
        return False
    if not content_type.startswith("multipart/"):
        payload = text[start:end]
        message.set_payload(_without_line_end(payload) if nested else payload)
        return True
    if len(enclosing) >= _MAX_DEPTH or content_type == "multipart/digest":
        return False
    boundary = boundary_of(message, header)
    encoding = str(message.get("content-transfer-encoding", "8bit")).lower()
    if boundary is None or encoding not in _PLAIN_TRANSFER_ENCODINGS:
        return False
    if "\n" in boundary or "\r" in boundary:  # folded into the value: no line can start with it
        return False
    if any(boundary.startswith(outer) or outer.startswith(boundary) for outer in enclosing):
        return False
    if "\r" in text and text.count("\r", start, end) != text.count("\r\n", start, end):
        return False  # the feedparser also ends lines at a bare CR
    marks = _boundary_lines(text, start, end, boundary)
    if len(marks) < 2 or marks[0][2] or not marks[-1][2]:
        return False
    if marks[0][0] > start:
        message.preamble = _without_line_end(text[start : marks[0][0]])
    for mark, following in pairwise(marks):
        part_start, part_end = mark[1], following[0]
        if part_start == part_end:  # two boundary lines in a row: the feedparser skips the second
            return False
        part = Message()
        body = _read_headers(part, text, part_start, part_end)
        if body is None or not _read_body(part, text, body, part_end, (*enclosing, boundary), nested=True):
            return False
        message.attach(part)
    epilogue = text[marks[-1][1] : end]
    if nested:  # the feedparser's clean-up of a nested multipart's epilogue, done by its parent
        message.epilogue = None if epilogue == "" else _without_line_end(epilogue)
    else:
        message.epilogue = epilogue
    return True


def _boundary_lines(text: str, start: int, end: int, boundary: str) -> list[tuple[int, int, bool]]:
    """(start, end after the line end, is the close boundary) of each boundary line, up to the close one.

    ``start`` is always at a line start (after an LF), so looking from the LF before it for
    "LF--boundary" finds every boundary line; ``str.find`` skips ahead several characters at a
    time where ``re`` would stop at every LF. A boundary line right after another is found too:
    the next search starts inside the line just found.
    """
    marks: list[tuple[int, int, bool]] = []
    needle = "\n--" + boundary
    at = text.find(needle, start - 1, end)
    while at >= 0:
        rest = _BOUNDARY_LINE_END.match(text, at + len(needle), end)
        if rest:
            is_close = rest.group(1) is not None
            marks.append((at + 1, rest.end(), is_close))
            if is_close:  # what follows is the epilogue
                break
        at = text.find(needle, at + 1, end)
    return marks


def _without_line_end(text: str) -> str:
    """Cut one line end (the feedparser's ``NLCRE_eol``)."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text
