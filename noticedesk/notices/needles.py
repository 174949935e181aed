"""The rule table's regular expressions, each behind a cheap substring check of the words it needs.

Same answers as ``re`` alone, sooner (docs/performance.md; tests/test_needles.py runs both ways).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from noticedesk.notices.pattern_words import FOLD, needles_of, starts_of


class OnePassScan(Protocol):
    """What a ``Text`` asks of a scanner (scanner.py, which builds on this module): the patterns it
    answers for, those whose match it proves, and the matches in one folded text."""

    @property
    def covered(self) -> frozenset[int]: ...

    @property
    def exact(self) -> set[int]: ...

    def matched(self, folded: str) -> frozenset[int] | None: ...


class Text:
    """A text and its case-folded copy, folded at most once however many patterns look at it.

    With a ``scanner`` (scanner.py), the patterns it covers are all tried on the text in one pass
    the first time one of them is asked; each then knows at once whether it matches.
    """

    __slots__ = ("_answers", "_folded", "_holds", "_matched", "_scanned", "scanner", "value")

    def __init__(self, value: str, scanner: OnePassScan | None = None) -> None:
        self.value = value
        self.scanner = scanner
        self._folded: str | None = None
        self._holds: dict[str, bool] = {}
        self._scanned = False
        self._matched: frozenset[int] | None = None
        self._answers: tuple[frozenset[int], frozenset[int], set[int]] | bool | None = False

    def scanned(self, matcher: Matcher) -> bool | None:
        """Whether ``matcher`` matches, as the scanner saw it; ``None`` when it cannot tell."""
        if self.scanner is None:
            return None
        matched, key = self._matches(self.scanner), id(matcher)
        # The scanner names matchers by id(): it keeps them alive, so no id is reused.
        if matched is None or key not in self.scanner.covered:
            return None
        if key in matched:  # a loosened pattern matching proves nothing: re must tell
            return True if key in self.scanner.exact else None
        return False

    def answers(self) -> tuple[frozenset[int], frozenset[int], set[int]] | None:
        """The scanner's answers at once, for callers that ask many matchers: the ids that match,
        the ids it answers for, and those whose match is proven (``scanned`` for each, inlined);
        ``None`` when it cannot tell (no scanner, or not a text it can scan)."""
        if self._answers is False:
            matched = self._matches(self.scanner) if self.scanner is not None else None
            scanner = self.scanner
            self._answers = (
                None if matched is None or scanner is None else (matched, scanner.covered, scanner.exact)
            )
        return self._answers  # type: ignore[return-value]

    def candidates(self, matchers: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
        """The matchers that may match: all but those the scanner saw fail (one call, not one each)."""
        if self.scanner is None:
            return matchers
        matched, covered = self._matches(self.scanner), self.scanner.covered
        if matched is None:
            return matchers
        return tuple(matcher for matcher in matchers if id(matcher) in matched or id(matcher) not in covered)

    def _matches(self, scanner: OnePassScan) -> frozenset[int] | None:
        """The scanner's matches in this text: scanned once, the first time they are asked."""
        if not self._scanned:
            self._matched, self._scanned = scanner.matched(self.folded), True
        return self._matched

    def holds(self, needle: str) -> bool:
        """``needle in folded``, remembered: the same words are asked by several patterns."""
        found = self._holds.get(needle)
        if found is None:
            found = self._holds[needle] = needle in self.folded
        return found

    @property
    def folded(self) -> str:
        if self._folded is None:
            lowered = self.value.lower()
            # translate() looks every character up in a dict: only when there is one to fold.
            self._folded = lowered if lowered.isascii() else lowered.translate(FOLD)
        return self._folded

    @property
    def foldable(self) -> bool:
        """Folding kept every character in place (it does unless the text holds e.g. "İ")."""
        return len(self.folded) == len(self.value)


def _as_text(text: str | Text) -> Text:
    return text if isinstance(text, Text) else Text(text)


# A pattern read as escapes (kept as written: "\\S" is not "\\s") and runs of other characters.
_PIECES = re.compile(r"\\.|[^\\]+", re.DOTALL)
# Inline flags ("(?-i:IAM)" keeps its case), group names, escapes that spell a character by its
# code ("\\x41" is "A"): a pattern holding one keeps its IGNORECASE run, no twin.
# Also a range with an upper-case end: "[A-z]" holds "[\\]^_`", which "[a-z]" would not.
_NO_TWIN_TEXT = re.compile(r"\(\?[aiLmsux-]|\(\?P|[A-Z]-[^A-Z]|[^A-Z]-[A-Z]")
_NO_TWIN_ESCAPES = frozenset("NxuU01234567")


def _case_sensitive_twin(pattern: str, flags: int) -> re.Pattern[str] | None:
    """The same pattern without IGNORECASE, for the folded text: five to ten times faster.

    The twin is the pattern with its letters lower-cased ("\\bC&C\\b" becomes "\\bc&c\\b",
    "[A-Z]" becomes "[a-z]"), escapes left alone: matching the folded text case-sensitively
    finds exactly what matching the text case-insensitively finds. Not for patterns with inline
    flags (``(?-i:IAM)``), character codes, or letters outside ASCII that have a case.
    """
    if not flags & re.IGNORECASE:
        return None
    pieces: list[str] = []
    for piece in _PIECES.findall(pattern):
        if piece.startswith("\\"):
            if piece[1:] in _NO_TWIN_ESCAPES:
                return None
            pieces.append(piece)
            continue
        if _NO_TWIN_TEXT.search(piece) or not all(
            char.isascii() or char.lower() == char.upper() for char in piece
        ):
            return None
        pieces.append(piece.lower())
    return re.compile("".join(pieces), flags & ~re.IGNORECASE)


def _loosened_twin(pattern: str, flags: int) -> re.Pattern[str] | None:
    """The twin of the pattern with its case-sensitive groups made case-blind like the rest.

    Dropping ``(?-i:…)`` only lets more texts match, and the twin finds on the folded text what
    the case-blind pattern finds: so the result matches wherever the pattern does.
    """
    if "(?-i:" not in pattern or not flags & re.IGNORECASE:
        return None
    return _case_sensitive_twin(pattern.replace("(?-i:", "(?:"), flags)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: asked about ~100 times a notice
class Matcher:
    """A compiled pattern, its needles, and its case-sensitive twin when it has one."""

    regex: re.Pattern[str]
    needles: tuple[str, ...] = ()
    twin: re.Pattern[str] | None = None
    branches: tuple[Matcher, ...] = ()
    """``a|b|c`` as three matchers, each behind its own needles: for yes/no questions."""
    starts: tuple[str, ...] = ()
    """Folded words every match starts with (``\\b(i-…`` starts with "i-"), when the twin runs."""
    loose: re.Pattern[str] | None = None
    """Without a twin: a pattern for the folded text that matches wherever this one matches, and
    maybe elsewhere (``(?-i:IAM) user`` loosened to ``iam user``): it can rule a text out."""

    @classmethod
    def compile(cls, pattern: str, flags: int) -> Matcher:
        branches = _top_level_branches(pattern)
        twin = _case_sensitive_twin(pattern, flags)
        return cls(
            re.compile(pattern, flags),
            needles_of(pattern, flags),
            twin,
            tuple(cls.compile(branch, flags) for branch in branches) if len(branches) > 1 else (),
            starts_of(pattern, flags) if twin is not None else (),
            _loosened_twin(pattern, flags) if twin is None else None,
        )

    @property
    def pattern(self) -> str:
        return self.regex.pattern

    def found(self, text: str | Text) -> bool:
        """Whether the pattern matches somewhere: the scanner's answer when it has one."""
        text = _as_text(text)
        answer = text.scanned(self)
        return self.search(text) is not None if answer is None else answer

    def possible(self, text: Text) -> bool:
        answer = text.scanned(self)
        if answer is not None:
            return answer
        if not self.needles:
            return True
        holds, folded = text._holds, text.folded  # text.holds() inlined: ~100 asks a message
        for needle in self.needles:
            found = holds.get(needle)
            if found is None:
                found = holds[needle] = needle in folded
            if found:
                return True
        return False

    def search(self, text: str | Text) -> re.Match[str] | None:
        """A match (on the folded text when the twin is used: for yes/no questions)."""
        text = _as_text(text)
        if not self.possible(text):
            return None
        if self.branches:
            # Python's re tries every branch at every position of a 5 KB text; a branch whose
            # words are absent cannot match, and the others run on their own (each with its
            # literal prefix, when it has one). Some branch matches iff the whole pattern does.
            for branch in self.branches:
                found = branch.search(text)
                if found is not None:
                    return found
            return None
        if self.twin is not None and text.foldable:
            if self.starts:
                return next(self._at_starts(text.folded), None)
            return self.twin.search(text.folded)
        return self.regex.search(text.value)

    def values(self, text: str | Text, group: int = 1) -> Iterator[str]:
        """Group ``group`` of every match, as written in the text (not folded)."""
        text = _as_text(text)
        if not self.possible(text):
            return
        if self.twin is not None and text.foldable:
            matches = self._at_starts(text.folded) if self.starts else self.twin.finditer(text.folded)
            for match in matches:
                start, end = match.span(group)
                yield text.value[start:end]
            return
        for match in self.regex.finditer(text.value):
            yield match.group(group)

    def _at_starts(self, folded: str) -> Iterator[re.Match[str]]:
        assert self.twin is not None
        return matches_at(self.twin, folded, self.starts)


def matches_at(regex: re.Pattern[str], text: str, starts: tuple[str, ...]) -> Iterator[re.Match[str]]:
    """What ``regex.finditer(text)`` finds, when every match begins with one of ``starts``."""
    candidates: set[int] = set()
    for start in starts:
        found = text.find(start)
        while found >= 0:
            candidates.add(found)
            found = text.find(start, found + 1)
    return matches_from(regex, text, candidates)


def matches_from(regex: re.Pattern[str], text: str, candidates: Iterable[int]) -> Iterator[re.Match[str]]:
    """What ``regex.finditer(text)`` finds, when every match begins at one of ``candidates``.

    Only those places are tried: the leftmost match found from a candidate on is the one
    ``finditer`` finds; the next is looked for after its end, as ``finditer`` does.
    ``match(text, pos)`` sees the text before ``pos`` (for ``\\b``, ``^``), as a scan does.
    """
    after = 0
    for position in sorted(candidates):
        if position < after or position < 0:
            continue
        match = regex.match(text, position)
        if match is not None:
            yield match
            after = match.end() if match.end() > position else position + 1


def _top_level_branches(pattern: str) -> list[str]:
    """The pattern split at its top-level ``|``; ``[pattern]`` when it cannot be split safely.

    Not split: patterns with inline flags or group names, or back references (a branch on its own
    would lose what they refer to).
    """
    if _NO_TWIN_TEXT.search(pattern) or re.search(r"\\[1-9]", pattern):
        return [pattern]
    branches: list[str] = []
    depth, start, index, in_class = 0, 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            # "[]a]" and "[^]a]": a "]" first in the class is a member, not its end.
            if char == "]" and not (pattern[index - 1] == "[" or pattern[index - 2 : index] == "[^"):
                in_class = False
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(pattern[start:index])
            start = index + 1
        index += 1
    branches.append(pattern[start:])
    return branches
