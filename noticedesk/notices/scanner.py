"""Which of the rule table's patterns match a text, all in one Hyperscan pass, before ``re`` runs any.

Hyperscan comes with the ``fast`` extra; without it the scanner answers for nothing and ``re``
alone gives the same results. Where the two engines are asked and why they agree:
docs/performance.md; tests/test_needles.py runs every pattern both ways.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import platform
import re
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from noticedesk.notices.needles import Matcher

log = logging.getLogger(__name__)

try:
    hyperscan: Any = importlib.import_module("hyperscan")
except ImportError:  # pragma: no cover - the dependency is installed where it has wheels
    hyperscan = None

# Read differently by Python and by Hyperscan's PCRE syntax: such a pattern stays with ``re``.
# So does an optional non-ASCII letter ("ー?"): byte by byte, only its last byte is optional.
_READ_DIFFERENTLY = re.compile(r"\{,|\\Z|\[([:.=])\w*\1\]|[^\x00-\x7f][?*{]")
# Python's re counts these as whitespace (str.isspace), Hyperscan's \s does not.
_SEPARATORS = ("\x1c", "\x1d", "\x1e", "\x1f")
# A lookahead or lookbehind holding no group: dropped, it leaves a pattern that matches more.
_LOOKAROUND = re.compile(r"\(\?<?[!=](?:[^()\\]|\\.)*\)")
_SUPPORTED_FLAGS = re.MULTILINE | re.DOTALL | re.ASCII | re.UNICODE


class Scanner:
    """One Hyperscan database for a set of matchers, made when first asked: compiled (a tenth of a
    second to a second) or read from the cache folder (``NOTICEDESK_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/noticedesk`` or ``~/.cache/noticedesk``)."""

    def __init__(self, matchers: Iterable[Matcher], enabled: bool = True) -> None:
        self._kept: list[Matcher] = []  # matchers are named by id(): they must live on
        self._expressions: list[tuple[int, bytes, int]] = []  # (slot, pattern, Hyperscan flags)
        self._covered: frozenset[int] = frozenset()
        self._exact: set[int] = set()  # those whose "it matches" is the answer, not a maybe
        self._database: Any = None
        self._built = not enabled or hyperscan is None
        self._lock = threading.Lock()
        self._local = threading.local()  # Hyperscan's scratch space is one per thread
        if self._built:
            return
        for matcher in {id(matcher): matcher for matcher in matchers}.values():
            compiled = _compiled_form(matcher)
            if compiled is not None:
                expression, flags, exact = compiled
                self._expressions.append((len(self._kept), expression, flags))
                self._kept.append(matcher)
                if exact:
                    self._exact.add(id(matcher))

    @property
    def covered(self) -> frozenset[int]:
        """The id() of every matcher the scanner answers for."""
        if not self._built:
            self._build()
        return self._covered

    @property
    def exact(self) -> set[int]:
        """The id() of the covered matchers whose match the scan proves (the rest it can rule out)."""
        return self._exact

    def covers(self, matcher: Matcher) -> bool:
        return id(matcher) in self.covered

    def matched(self, folded: str) -> frozenset[int] | None:
        """The id() of the covered matchers that match this folded text; ``None``: not a text to ask."""
        if not self._built:
            self._build()
        # Four substring tests (memchr) cost less than one regular expression's scan.
        if self._database is None or not folded.isascii() or any(sep in folded for sep in _SEPARATORS):
            return None
        found: list[int] = []
        kept = self._kept
        self._database.scan(
            folded.encode("ascii"),
            match_event_handler=lambda slot, start, end, flags, context: found.append(id(kept[slot])),
            scratch=self._scratch(),
        )
        return frozenset(found)

    def _build(self) -> None:
        with self._lock:
            if self._built:
                return
            key = _cache_key(self._expressions)
            cached = _load(key)
            if cached is not None:
                slots, self._database = cached
            else:
                slots, self._database = _compile(self._expressions)
                _save(key, slots, self._database)
            self._covered = frozenset(id(self._kept[slot]) for slot in slots)
            self._built = True

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        return scratch


def _compile(expressions: list[tuple[int, bytes, int]]) -> tuple[list[int], Any]:
    """The slots Hyperscan accepts, and their database (``None`` when it accepts none)."""
    try:
        return [slot for slot, _pattern, _flags in expressions], _database(expressions)
    except hyperscan.error:  # some pattern Hyperscan refuses: find which, leave it to re
        expressions = [expression for expression in expressions if _accepted(expression)]
        slots = [slot for slot, _pattern, _flags in expressions]
        return slots, (_database(expressions) if expressions else None)


# Compiled databases are kept on disk (a second or so of compiling saved on every CLI run), named
# by everything that shapes them; each file holds a SHA-256 of its content, checked before use,
# since Hyperscan loads a damaged database without complaint.
def cache_dir() -> Path:
    configured = os.environ.get("NOTICEDESK_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "noticedesk"


def _cache_key(expressions: list[tuple[int, bytes, int]]) -> str:
    digest = hashlib.sha256(f"{hyperscan.__version__} {platform.machine()} {sys.version_info[:2]}".encode())
    for slot, pattern, flags in expressions:
        digest.update(b"%d %d %d:" % (slot, flags, len(pattern)) + pattern)
    return digest.hexdigest()


def _load(key: str) -> tuple[list[int], Any] | None:
    try:
        content = (cache_dir() / f"scanner-{key}.hsdb").read_bytes()
    except OSError:
        return None
    digest, body = content[:32], content[32:]
    if len(content) < 36 or hashlib.sha256(body).digest() != digest:
        log.warning("damaged scanner cache file ignored", extra={"key": key})
        return None
    count = int.from_bytes(body[:4], "big")
    slots = [int.from_bytes(body[4 + 4 * index : 8 + 4 * index], "big") for index in range(count)]
    serialized = body[4 + 4 * count :]
    try:
        return slots, (hyperscan.loadb(serialized, hyperscan.HS_MODE_BLOCK) if serialized else None)
    except hyperscan.error:
        return None


def _save(key: str, slots: list[int], database: Any) -> None:
    body = len(slots).to_bytes(4, "big") + b"".join(slot.to_bytes(4, "big") for slot in slots)
    body += hyperscan.dumpb(database) if database is not None else b""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as handle:
            handle.write(hashlib.sha256(body).digest() + body)
        os.replace(handle.name, folder / f"scanner-{key}.hsdb")  # whole or not at all
    except OSError as error:  # a read-only home: compiled again next time, nothing else changes
        log.info("scanner cache not written", extra={"reason": str(error)})


def _database(expressions: list[tuple[int, bytes, int]]) -> Any:
    database = hyperscan.Database()
    database.compile(
        expressions=[pattern for _slot, pattern, _flags in expressions],
        ids=[slot for slot, _pattern, _flags in expressions],
        elements=len(expressions),
        flags=[flags for _slot, _pattern, flags in expressions],
    )
    return database


def _accepted(expression: tuple[int, bytes, int]) -> bool:
    try:
        _database([expression])
    except hyperscan.error:
        return False
    return True


def _compiled_form(matcher: Matcher) -> tuple[bytes, int, bool] | None:
    """The twin's pattern (else the loosened twin's), its Hyperscan flags and whether the scan's
    answer is exact; ``None`` when the two engines would read the pattern differently.

    Compiled without HS_FLAG_UTF8 (UTF-8 mode makes ``.{0,400}`` a hundred times slower to compile):
    only ASCII texts are scanned, and on those a byte is a character, and a pattern's non-ASCII
    letters (Japanese words) match nothing in either engine.
    """
    twin = matcher.twin or matcher.loose
    if twin is None or twin.flags & ~_SUPPORTED_FLAGS or _READ_DIFFERENTLY.search(twin.pattern):
        return None
    pattern, exact = twin.pattern, matcher.twin is not None
    # Hyperscan has no lookarounds. Without one a pattern matches wherever it matched, and maybe
    # elsewhere: scanned loosened, a miss still rules the text out and re settles a match.
    loosened = _LOOKAROUND.sub("", pattern)
    if loosened != pattern:
        pattern, exact = loosened, False
    flags = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
    if twin.flags & re.MULTILINE:
        flags |= hyperscan.HS_FLAG_MULTILINE
    if twin.flags & re.DOTALL:
        flags |= hyperscan.HS_FLAG_DOTALL
    return pattern.encode("utf-8"), flags, exact
