"""Text from a mail or from AWS, made safe to print: no control character reaches a terminal or a log.

A subject can carry ``ESC[2K ESC[1A ESC[32mverified`` (erase the line, move up, paint "verified"
green); a TopicArn can carry a newline that forges a log line. Every C0 and C1 control character
and DEL is shown as an escape (``\\x1b``, ``\\x9b``, ``\\r``) instead, except a newline or tab where
a text may span lines. Applied once, at the output edge (``cli.render``, log formatting).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_JSON_UNESCAPED = re.compile(r"[\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(match: re.Match[str]) -> str:
    character = match.group()
    return _NAMED.get(character) or f"\\x{ord(character):02x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with its control characters shown as escapes; newline and tab kept unless ``one_line``.

    A CR is kept only as part of CRLF (a line ending), never alone, since alone it returns the
    cursor to the start of the line and the rest of the text overwrites what was printed.
    """
    return (_CONTROL_ONE_LINE if one_line else _CONTROL).sub(_shown, text)


def printable_json(data: Any) -> str:
    """``data`` as one line of JSON that a terminal shows as it is.

    ``json.dumps`` escapes C0 characters already; DEL and C1 (U+0080–U+009F, which some
    terminals obey as ESC-sequences) are written ``\\u009b`` too. The decoded value is unchanged.
    """
    text = json.dumps(data, ensure_ascii=False, default=str)
    return _JSON_UNESCAPED.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def loggable(value: object) -> str:
    """An untrusted value for a log line: its ``repr`` if it holds a control character, else itself.

    ``%s`` of a TopicArn with a newline writes a second, forged log line; this writes ``'…\\n…'``.
    """
    text = str(value)
    return repr(text) if _CONTROL_ONE_LINE.search(text) else text


class PrintableFormatter(logging.Formatter):
    """A log line made of untrusted parts stays one line: the message (not the traceback that
    may follow it) has its control characters shown as escapes."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record), one_line=True)
