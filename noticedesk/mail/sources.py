"""Where messages come from: .eml files, mbox files, Maildir folders, stdin, AWS Health JSON.

Every source yields ``RawItem`` values, streaming: an mbox of 50,000 notices is never loaded
whole. A source that cannot be read yields one item carrying the error, so the batch goes on.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from noticedesk.store.types import storable_text

Format = Literal["mail", "health", "unknown"]


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


def split_mbox(stream: BinaryIO, source: str) -> Iterator[RawItem]:
    """Split an mbox (mboxo/mboxrd) on its "From " lines, one message at a time."""
    lines: list[bytes] = []
    index = 0
    previous_blank = True
    separators = b""  # kept so that an mbox with no message is stored as it was
    for line in stream:
        if line.startswith(b"From ") and previous_blank:
            if lines:
                yield RawItem(source, index, b"".join(lines), "mail")
                index += 1
            elif index == 0:
                separators += line
            lines = []
            previous_blank = False
            continue
        if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
            line = line[1:]
        lines.append(line)
        previous_blank = line in (b"\n", b"\r\n")
    if lines:
        yield RawItem(source, index, b"".join(lines), "mail")
    elif index == 0:
        yield RawItem(source, None, separators, "unknown", "empty mbox: no messages")


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


def _read_file(path: Path) -> Iterator[RawItem]:
    source = source_label(path)
    try:
        with path.open("rb") as stream:
            head = stream.read(4096)
            if not head.strip():
                yield RawItem(source, None, head, "unknown", "empty file")
                return
            if head.startswith(b"From "):
                stream.seek(0)
                yield from split_mbox(stream, source)
                return
            raw = head + stream.read()
    except OSError as error:
        yield RawItem(source, None, b"", "unknown", f"cannot read: {error.strerror or error}")
        return
    if _sniff(head) == "health":
        yield from split_health(raw, source)
    else:
        yield RawItem(source, None, raw, "mail")


def _read_maildir(path: Path) -> Iterator[RawItem]:
    for sub in ("new", "cur"):
        for file in sorted((path / sub).iterdir()):
            if file.is_file() and not file.name.startswith("."):
                yield from _read_file(file)


def _read_folder(path: Path) -> Iterator[RawItem]:
    if all((path / sub).is_dir() for sub in ("cur", "new")):
        yield from _read_maildir(path)
        return
    files = sorted(file for file in path.iterdir() if file.is_file() and not file.name.startswith("."))
    if not files:
        yield RawItem(source_label(path), None, b"", "unknown", "empty folder: no messages")
    for file in files:
        yield from _read_file(file)


def read_sources(paths: Iterable[str], stdin: BinaryIO | None = None) -> Iterator[RawItem]:
    """Every message of every path, in order; ``-`` reads one message (or an mbox) from stdin."""
    for name in paths:
        if name == "-":
            stream = stdin or sys.stdin.buffer
            raw = stream.read()
            if raw.startswith(b"From "):
                yield from split_mbox(io.BytesIO(raw), "<stdin>")
            elif _sniff(raw[:4096]) == "health":
                yield from split_health(raw, "<stdin>")
            else:
                yield RawItem("<stdin>", None, raw, "mail", None if raw.strip() else "empty input")
            continue
        path = Path(name)
        if path.is_dir():
            try:
                yield from _read_folder(path)
            except OSError as error:  # a folder (or its cur/new) that cannot be listed
                reason = f"cannot read folder: {error.strerror or error}"
                yield RawItem(source_label(name), None, b"", "unknown", reason)
        elif path.exists():
            yield from _read_file(path)
        else:
            yield RawItem(source_label(name), None, b"", "unknown", "no such file or folder")
