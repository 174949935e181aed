"""File import (JSON lines) and the after-ingest alarm check, for the CLI and the benchmarks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from noticedesk.config import SesConfig
from noticedesk.errors import SourceError
from noticedesk.feedback.alarms import Alarm, Thresholds, evaluate, open_cases
from noticedesk.feedback.events import FeedbackDocument, FeedbackFormatError, parse_line
from noticedesk.feedback.policy import PolicySettings
from noticedesk.feedback.rates import local_rates
from noticedesk.feedback.store import IngestResult, ingest_batches

log = logging.getLogger(__name__)


@dataclass
class FileImport:
    result: IngestResult = field(default_factory=IngestResult)
    bad_lines: list[str] = field(default_factory=list)
    """``file: line N: reason`` for each line that was skipped."""


def read_documents(paths: Iterable[Path], bad_lines: list[str]) -> Iterator[tuple[FeedbackDocument, str]]:
    for path in paths:
        try:
            handle = path.open("rb")
        except OSError as error:
            raise SourceError(str(path), f"cannot open: {error.strerror}") from error
        name = str(path)
        with handle:
            for number, line in enumerate(handle, start=1):
                if line.isspace():
                    continue
                try:
                    yield parse_line(line), f"{name}: line {number}"
                except FeedbackFormatError as error:
                    bad_lines.append(f"{path}: line {number}: {error}")
                    log.warning("feedback line skipped at %s:%d: %s", path, number, error)


def import_files(engine: Engine, paths: Iterable[Path], config: SesConfig, now: datetime) -> FileImport:
    outcome = FileImport()
    documents = read_documents(paths, outcome.bad_lines)
    outcome.result = ingest_batches(engine, documents, PolicySettings.from_config(config), now)
    outcome.bad_lines += [f"{label}: not stored: {reason}" for label, reason in outcome.result.refused]
    return outcome


def check_alarms(engine: Engine, config: SesConfig, now: datetime) -> tuple[list[Alarm], list[int]]:
    """Evaluate the rates over the window; open early-warning cases for critical alarms."""
    with engine.begin() as connection:
        rates = local_rates(connection, now, timedelta(days=config.rate_window_days))
        alarms = evaluate(rates, Thresholds.from_config(config))
        return alarms, open_cases(connection, alarms, now)
