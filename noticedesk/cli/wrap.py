"""Paragraphs wrapped for a terminal: Japanese by phrase, English by word, with a hanging indent.

A terminal's own wrapping breaks Japanese anywhere ("IP \\nアドレス") and starts continuation lines
at the left edge. Here Japanese text is cut into phrases by BudouX (a phrase, e.g. "IP アドレスと",
is never split), other text at spaces, widths are measured in terminal cells (a kanji takes two),
and every line after the first starts at ``indent``. A piece wider than a line is split where it
must (a URL, say), never dropped.
"""

from __future__ import annotations

import re
from functools import cache

from rich.cells import cell_len

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


@cache
def _phrases_parser() -> object:
    import budoux

    return budoux.load_default_japanese_parser()


def pieces(text: str, room: int = 10_000) -> list[str]:
    """``text`` cut where a line may break; each piece keeps the spaces that precede it.

    Japanese: BudouX's phrases, whole (``" IP アドレスと"``) unless one is wider than ``room``
    cells; then, like other text, at its spaces.
    """
    if _JAPANESE.search(text):
        parser = _phrases_parser()
        phrases: list[str] = parser.parse(text)  # type: ignore[attr-defined]
    else:
        phrases = [text]
    out: list[str] = []
    for phrase in phrases:
        if _JAPANESE.search(phrase) and cell_len(phrase.strip()) <= room:
            out.append(phrase)
        else:
            out += re.findall(r"\s*\S+|\s+$", phrase)  # words with their leading spaces
    return out


def wrap(text: str, width: int, indent: int = 0, first: str = "") -> str:
    """``first`` + ``text`` in lines of at most ``width`` cells; lines after the first start at ``indent``.

    ``first`` (a bullet, a label) is printed as is at the start of the first line. Lines inside
    ``text`` stay separate lines, each wrapped the same way.
    """
    lines: list[str] = []
    for number, paragraph in enumerate(text.split("\n")):
        lead = first if number == 0 else " " * indent
        lines += _wrap_one(paragraph, width, indent, lead)
    return "\n".join(lines)


def _wrap_one(text: str, width: int, indent: int, lead: str) -> list[str]:
    lines: list[str] = []
    line, empty = lead, True
    for piece in pieces(text, width - indent):
        if not empty and cell_len(line + piece) > width:
            lines.append(line.rstrip())
            line, empty = " " * indent, True
        if empty:
            piece = piece.lstrip()
        while cell_len(line + piece) > width and cell_len(line) < width:  # wider than a line
            head = _fit(piece, width - cell_len(line))
            lines.append(line + head)
            line, piece = " " * indent, piece[len(head) :]
        line, empty = line + piece, False
    lines.append(line.rstrip())
    return lines


def _fit(text: str, cells: int) -> str:
    """The longest start of ``text`` that takes at most ``cells`` cells (at least one character)."""
    used = 0
    for index, character in enumerate(text):
        used += cell_len(character)
        if used > cells:
            return text[: max(index, 1)]
    return text


_BULLET = re.compile(r"^(\s*)([・•■□☐✔\-*]\s*|\d+[.)]\s+|)")


def for_terminal(text: str, width: int) -> str:
    """A text made to be copied (a summary), wrapped for reading on a terminal: each line by
    phrase, its continuation lines under the line's own text (past its indent and bullet)."""
    out = []
    for line in text.split("\n"):
        lead = _BULLET.match(line)
        hang = cell_len(lead.group(0)) if lead else 0
        out.append(
            wrap(line[len(lead.group(0)) if lead else 0 :], width, hang, lead.group(0) if lead else "")
        )
    return "\n".join(out)
