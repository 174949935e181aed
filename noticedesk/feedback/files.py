"""File import (JSON lines), for the CLI and the benchmarks."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from noticedesk.config import SesConfig
from noticedesk.feedback.events import FeedbackDocument, FeedbackFormatError, parse_line
from noticedesk.feedback.ingest import IngestResult, ingest_batches
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.mail.readers import source_label
from noticedesk.printable import loggable

log = logging.getLogger(__name__)
MAX_LINE_BYTES = 1024 * 1024
"""One JSON line: an SNS message is at most 256 KiB, so its envelope (escaped) stays well under this."""


@dataclass
class FileImport:
    result: IngestResult = field(default_factory=IngestResult)
    bad_lines: list[str] = field(default_factory=list)
    """``file: line N: reason`` for each line that was skipped."""


def read_documents(
    paths: Iterable[Path | str],
    bad_lines: list[str],
    stdin: BinaryIO | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[tuple[FeedbackDocument, str]]:
    """The documents of every file (``-``: stdin), line by line; a file that cannot be opened and a
    line that is not feedback are named in ``bad_lines`` and the rest is read."""
    for path in paths:
        from_stdin = str(path) == "-"
        name = "<stdin>" if from_stdin else source_label(path)
        try:
            with nullcontext(stdin or sys.stdin.buffer) if from_stdin else Path(path).open("rb") as handle:
                yield from _documents(handle, name, bad_lines, max_line_bytes)
        except OSError as error:  # missing, a folder, a device that fails mid-read
            bad_lines.append(f"{name}: cannot read: {error.strerror or error}")


def _documents(
    handle: BinaryIO, name: str, bad_lines: list[str], max_line_bytes: int
) -> Iterator[tuple[FeedbackDocument, str]]:
    for number, line in enumerate(iter(lambda: handle.readline(max_line_bytes + 1), b""), start=1):
        if len(line) > max_line_bytes:  # no end of line in sight (/dev/zero): the file ends here
            bad_lines.append(
                f"{name}: line {number}: longer than {max_line_bytes // 1024} KiB: "
                "not read, nor the rest of the file"
            )
            return
        if line.isspace():
            continue
        try:
            yield parse_line(line), f"{name}: line {number}"
        except FeedbackFormatError as error:
            bad_lines.append(f"{name}: line {number}: {error}")
            log.warning("feedback line skipped at %s:%d: %s", loggable(name), number, loggable(error))


def import_files(
    engine: Engine,
    paths: Iterable[Path | str],
    config: SesConfig,
    now: datetime,
    stdin: BinaryIO | None = None,
    progress: Callable[[int], None] | None = None,
) -> FileImport:
    """Import every line; ``progress`` (a terminal's bar) is told of the events of each document read."""
    outcome = FileImport()
    documents = read_documents(paths, outcome.bad_lines, stdin)
    if progress is not None:
        documents = _counted(documents, progress)
    outcome.result = ingest_batches(engine, documents, PolicySettings.from_config(config), now)
    outcome.bad_lines += [f"{label}: not stored: {reason}" for label, reason in outcome.result.refused]
    return outcome


def _counted(
    documents: Iterator[tuple[FeedbackDocument, str]], progress: Callable[[int], None]
) -> Iterator[tuple[FeedbackDocument, str]]:
    for document in documents:
        progress(len(document[0].events))
        yield document
