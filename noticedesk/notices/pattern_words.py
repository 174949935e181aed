"""The words a regular expression needs: those every match contains, those every match starts with.

Read from the pattern's structure, which only ``re``'s own parser gives (``re._parser``,
``re._constants``: private, and changed between Python releases before). This is the one module
that reads them. At import it parses a probe pattern and checks the shapes relied on below; when
they differ, ``AVAILABLE`` is false and no words are read: every pattern then runs in full, with
the same results, only slower (tests/test_pattern_words.py fails loudly in that case).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

FOLD = str.maketrans({"ı": "i", "ſ": "s", "K": "k"})
"""Case-insensitive ``re`` also equates these with ASCII letters; ``str.lower`` does not."""


def _private_parser() -> tuple[Any, Any] | None:
    """``re``'s parser and its opcodes, when they have the shapes read here."""
    try:
        parser: Any = importlib.import_module("re._parser")
        ops: Any = importlib.import_module("re._constants")
        parsed = list(parser.parse("ab(c|de)+x*", 0))
        repeat = parsed[2]
        group = repeat[1][2][0]
        branch = group[1][-1][0]
        shapes = (
            parsed[:2] == [(ops.LITERAL, ord("a")), (ops.LITERAL, ord("b"))]
            and repeat[0] is ops.MAX_REPEAT
            and repeat[1][0] == 1
            and group[0] is ops.SUBPATTERN
            and branch[0] is ops.BRANCH
            and list(branch[1][1][1]) == [(ops.LITERAL, ord("d")), (ops.LITERAL, ord("e"))]
            and parsed[3][0] is ops.MAX_REPEAT
            and parsed[3][1][0] == 0
            and next(iter(parser.parse(r"\b", 0)))[0] is ops.AT
            and ops.MIN_REPEAT is not None
        )
    except Exception:  # any change of the private API: no words, never an error
        return None
    return (parser, ops) if shapes else None


_PRIVATE = _private_parser()
AVAILABLE = _PRIVATE is not None
"""Whether this Python's ``re`` parser has the shapes this module reads."""
_PARSER: Any
_OPS: Any
_PARSER, _OPS = _PRIVATE if _PRIVATE is not None else (None, None)


def _caseless_safe(needle: str) -> bool:
    # Outside ASCII, case folding has more equivalences than FOLD covers: no shortcut there,
    # except for characters without case at all (Japanese).
    return bool(needle) and all(char.isascii() or char.lower() == char.upper() for char in needle)


def _caseless_piece(literal: str) -> str:
    """The longest run of the literal that case folding cannot trip ("o paulo)" of "são paulo)")."""
    if _caseless_safe(literal):
        return literal
    runs = re.split(r"[^\x00-\x7f]+", literal)
    return max((run for run in runs if _caseless_safe(run)), key=len, default="")


def _required(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Substrings one of which every match of this sequence contains (``None``: none known).

    Each element of a sequence (a run of literal characters, a group, an alternation, a part
    repeated at least once) must match, so each one's needles are necessary: the most
    selective set is kept (the one whose shortest needle is longest).
    """
    candidates: list[set[str]] = []
    literal = ""
    for op, argument in items:
        if op is _OPS.LITERAL:
            literal += chr(argument)
            continue
        if literal:
            candidates.append({_caseless_piece(literal)})
            literal = ""
        inner: set[str] | None = None
        if op is _OPS.SUBPATTERN:
            inner = _required(list(argument[-1]))
        elif op is _OPS.BRANCH:
            alternatives = [_required(list(branch)) for branch in argument[1]]
            if all(alternative is not None for alternative in alternatives):
                inner = set().union(*(alternative or set() for alternative in alternatives))
        elif op in (_OPS.MAX_REPEAT, _OPS.MIN_REPEAT) and argument[0] >= 1:
            inner = _required(list(argument[2]))
        # Anything else (\b, a class, an optional part) adds nothing, and takes nothing away.
        if inner:
            candidates.append(inner)
    if literal:
        candidates.append({_caseless_piece(literal)})
    safe = [candidate for candidate in candidates if all(map(_caseless_safe, candidate))]
    return max(safe, key=lambda candidate: min(map(len, candidate))) if safe else None


def _starts(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Literal words every match of this sequence starts with (``None``: not known)."""
    for index, (op, argument) in enumerate(items):
        if op is _OPS.AT:  # \b, ^: zero-width, the match still starts here
            continue
        if op is _OPS.LITERAL:
            literal, end = "", index
            while end < len(items) and items[end][0] is _OPS.LITERAL:
                literal += chr(items[end][1])
                end += 1
            # re's parser factors "akia|asia" into "a" and (kia|sia): put the words back together.
            following = _starts(items[end:]) if end < len(items) and items[end][0] is not _OPS.AT else None
            return {literal + start for start in following} if following else {literal}
        if op is _OPS.SUBPATTERN:
            return _starts(list(argument[-1]))
        if op is _OPS.BRANCH:
            alternatives = [_starts(list(branch)) for branch in argument[1]]
            if any(alternative is None for alternative in alternatives):
                return None
            return set().union(*(alternative or set() for alternative in alternatives))
        if op in (_OPS.MAX_REPEAT, _OPS.MIN_REPEAT) and argument[0] >= 1:
            return _starts(list(argument[2]))
        return None
    return None


def starts_of(pattern: str, flags: int) -> tuple[str, ...]:
    """The case-folded words every match of the pattern starts with; ``()`` when not known."""
    if not AVAILABLE:
        return ()
    try:
        parsed = list(_PARSER.parse(pattern, flags))
    except re.error:
        return ()
    if parsed and parsed[0][0] is _OPS.LITERAL:  # re scans for a literal prefix itself, faster
        return ()
    found = _starts(parsed)
    # A single letter ("a" of "akia|asia", which re's parser factors out) starts too many places.
    if not found or not all(
        _caseless_safe(start) and (len(start) > 1 or not start.isalnum()) for start in found
    ):
        return ()
    return tuple(sorted({start.lower().translate(FOLD) for start in found}))


def needles_of(pattern: str, flags: int) -> tuple[str, ...]:
    """The case-folded needles of a pattern; ``()`` when it has none we can rely on."""
    if not AVAILABLE:
        return ()
    try:
        parsed = _PARSER.parse(pattern, flags)
    except re.error:
        return ()
    found = _required(list(parsed))
    if not found:
        return ()
    return tuple(sorted({needle.lower().translate(FOLD) for needle in found}))
