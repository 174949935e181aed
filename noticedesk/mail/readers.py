"""Where messages come from: .eml files, mbox files, Maildir folders, stdin, AWS Health JSON.

Every source yields ``RawItem`` values, streaming: an mbox of 50,000 notices is never loaded
whole. A source that cannot be read yields one item carrying the error, so the batch goes on.
Reads are bounded: a message over the size cap (``[input] max_message_mib``) is read in chunks
up to the cap and refused, so ``/dev/zero`` costs the cap, not the machine. A folder walk never
follows a symlink out of the folder (a Maildir read unattended must not store ``/etc/shadow``).
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from noticedesk.text import storable_text

Format = Literal["mail", "health", "unknown", "skipped"]
"""``skipped``: not an input but a note about one left alone (its ``error`` says why); not stored."""
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_CHUNK = 1024 * 1024
_GIVE_UP = 4
"""An mbox message this many times over the cap ends the reading of that mbox."""


@dataclass(frozen=True)
class RawItem:
    source: str
    index: int | None
    raw: bytes
    format: Format
    error: str | None = None

    @property
    def label(self) -> str:
        return self.source if self.index is None else f"{self.source}#{self.index}"


def _sniff(head: bytes) -> Format:
    stripped = head.lstrip()
    if stripped.startswith((b"{", b"[")):
        return "health"
    return "mail"


def too_large(max_bytes: int) -> str:
    return f"larger than the {max_bytes / 1024 / 1024:g} MiB cap ([input] max_message_mib): not read"


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's lines, none longer than ``_CHUNK`` (a longer one comes in pieces)."""
    return iter(lambda: stream.readline(_CHUNK), b"")


def split_mbox(lines: Iterable[bytes], source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[RawItem]:
    """Split an mbox (mboxo/mboxrd), given line by line, on its "From " lines, one message at a time.

    A message over ``max_bytes`` is refused (one item with the reason) and the next one read;
    one that runs on past ``_GIVE_UP`` times the cap ends the mbox.
    """
    kept: list[bytes] = []
    size = 0
    index = 0
    previous_blank = True
    separators = b""  # kept so that an mbox with no message is stored as it was
    for line in lines:
        if line.startswith(b"From ") and previous_blank:
            if kept or size:
                yield _mbox_item(source, index, kept, size, max_bytes)
                index += 1
            elif index == 0:
                separators += line
            kept, size = [], 0
            previous_blank = False
            continue
        if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
            line = line[1:]
        size += len(line)
        if size > _GIVE_UP * max_bytes:  # no end in sight (a stream of zeros): stop reading it
            yield RawItem(source, index, b"", "unknown", f"{too_large(max_bytes)}; nor the rest of the mbox")
            return
        if size <= max_bytes:
            kept.append(line)
        elif kept:
            kept = []  # over the cap: the rest is counted, not kept
        previous_blank = line in (b"\n", b"\r\n")
    if kept or size:
        yield _mbox_item(source, index, kept, size, max_bytes)
    elif index == 0:
        yield RawItem(source, None, separators, "unknown", "empty mbox: no messages")


def _mbox_item(source: str, index: int, lines: list[bytes], size: int, max_bytes: int) -> RawItem:
    if size > max_bytes:
        return RawItem(source, index, b"", "unknown", too_large(max_bytes))
    return RawItem(source, index, b"".join(lines), "mail")


def read_capped(stream: BinaryIO, max_bytes: int) -> bytes | None:
    """All of ``stream`` in chunks, or None as soon as it holds more than ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(_CHUNK, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return None
    return b"".join(chunks)


def split_health(raw: bytes, source: str) -> Iterator[RawItem]:
    """An EventBridge Health event, a list of them, or JSON lines of them: one item per event."""
    try:
        document = json.loads(raw)
        events = document if isinstance(document, list) else [document]
    except RecursionError:  # "[[[[…": json recurses once a level
        yield RawItem(source, None, raw, "health", "not valid JSON: nested too deeply")
        return
    except (json.JSONDecodeError, UnicodeDecodeError):
        lines = [line for line in raw.splitlines() if line.strip()]
        try:
            events = [json.loads(line) for line in lines]
        except RecursionError:
            yield RawItem(source, None, raw, "health", "not valid JSON: nested too deeply")
            return
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            yield RawItem(source, None, raw, "health", f"not valid JSON: {error}")
            return
    if not events:
        yield RawItem(source, None, raw, "health", "empty JSON list: no events")
        return
    single = len(events) == 1
    for index, event in enumerate(events):
        yield RawItem(source, None if single else index, json.dumps(event).encode(), "health")


def source_label(path: str | Path) -> str:
    """A path as shown and stored: a name that is not valid UTF-8 (``bad\xffname.eml``) has its
    undecodable bytes written as ``\xff``, since the store, JSON and the terminal take UTF-8 only."""
    return storable_text(str(path))


def _read_stream(stream: BinaryIO, source: str, max_bytes: int, empty: str) -> Iterator[RawItem]:
    """One message, an mbox or Health JSON from an open stream (a file, stdin)."""
    first = stream.readline(_CHUNK)
    if first.startswith(b"From "):
        yield from split_mbox(itertools.chain([first], _lines(stream)), source, max_bytes)
        return
    rest = read_capped(stream, max_bytes - len(first)) if len(first) <= max_bytes else None
    if rest is None:
        yield RawItem(source, None, b"", "unknown", too_large(max_bytes))
        return
    raw = first + rest
    if not raw.strip():
        yield RawItem(source, None, raw, "unknown", empty)
    elif _sniff(raw[:4096]) == "health":
        yield from split_health(raw, source)
    else:
        yield RawItem(source, None, raw, "mail")


def _read_file(
    path: Path, max_bytes: int, *, follow: bool = True, source: str | None = None
) -> Iterator[RawItem]:
    """``follow=False`` (a file found in a folder walk): a symlink swapped in after the walk
    looked is not opened (``O_NOFOLLOW``)."""
    source = source or source_label(path)
    flags = os.O_RDONLY | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        with os.fdopen(os.open(path, flags), "rb") as stream:
            yield from _read_stream(stream, source, max_bytes, "empty file")
    except MemoryError:  # a cap set larger than the machine can hold
        yield RawItem(source, None, b"", "unknown", "too large to read into memory: not read")
    except OSError as error:
        yield RawItem(source, None, b"", "unknown", f"cannot read: {error.strerror or error}")


def _inside(file: Path, folder: Path) -> Path | RawItem:
    """Where a folder entry really is, or a ``skipped`` note when it is a symlink that leaves the
    folder, loops or points nowhere (nothing outside the folder is ever read)."""
    if not file.is_symlink():
        return file
    source = source_label(file)
    try:
        target = file.resolve(strict=True)
    except RuntimeError:  # Python before 3.13 reports a loop this way
        return RawItem(source, None, b"", "skipped", "symlink loop: not followed")
    except OSError as error:
        if error.errno == errno.ELOOP:
            return RawItem(source, None, b"", "skipped", "symlink loop: not followed")
        return RawItem(source, None, b"", "skipped", "symlink to nothing: not followed")
    if not target.is_relative_to(folder.resolve()):
        return RawItem(source, None, b"", "skipped", "symlink to outside the folder: not followed")
    return target


def _folder_files(folder: Path, max_bytes: int) -> Iterator[RawItem]:
    for entry in sorted(entry for entry in folder.iterdir() if not entry.name.startswith(".")):
        where = _inside(entry, folder)
        if isinstance(where, RawItem):
            yield where
        elif where.is_file():  # a symlink within the folder is read where it points
            yield from _read_file(where, max_bytes, follow=where is not entry, source=source_label(entry))


def _read_maildir(path: Path, max_bytes: int) -> Iterator[RawItem]:
    for sub in ("new", "cur"):
        where = _inside(path / sub, path)
        if isinstance(where, RawItem):
            yield where
        else:
            yield from _folder_files(path / sub, max_bytes)


def _read_folder(path: Path, max_bytes: int) -> Iterator[RawItem]:
    if all((path / sub).is_dir() for sub in ("cur", "new")):
        yield from _read_maildir(path, max_bytes)
        return
    items = _folder_files(path, max_bytes)
    first = next(items, None)
    if first is None:
        yield RawItem(source_label(path), None, b"", "unknown", "empty folder: no messages")
        return
    yield from itertools.chain([first], items)


def read_sources(
    paths: Iterable[str], stdin: BinaryIO | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[RawItem]:
    """Every message of every path, in order; ``-`` reads one message (or an mbox) from stdin.

    No message larger than ``max_bytes`` is held in memory: it is refused with one item.
    """
    for name in paths:
        if name == "-":
            stream = stdin or sys.stdin.buffer
            try:
                yield from _read_stream(stream, "<stdin>", max_bytes, "empty input")
            except MemoryError:
                yield RawItem("<stdin>", None, b"", "unknown", "too large to read into memory: not read")
            continue
        path = Path(name)
        if path.is_dir():
            try:
                yield from _read_folder(path, max_bytes)
            except OSError as error:  # a folder (or its cur/new) that cannot be listed
                reason = f"cannot read folder: {error.strerror or error}"
                yield RawItem(source_label(name), None, b"", "unknown", reason)
        elif path.exists():
            yield from _read_file(path, max_bytes)
        else:
            yield RawItem(source_label(name), None, b"", "unknown", "no such file or folder")
