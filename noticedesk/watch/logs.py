"""One log line per event: ``key=value`` text on a terminal, or one JSON object a line.

The fields are what a caller passed as ``extra``; both forms show every control character as an
escape (a subject or an SQS body cannot forge a second line). No field holds a secret: the
watcher never hands a password, a webhook URL or a token to a log call.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Literal

from noticedesk.printable import loggable, printable, printable_json

LogFormat = Literal["text", "json"]
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def fields_of(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return printable_json(line)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        extra = " ".join(f"{key}={loggable(value)}" for key, value in fields_of(record).items())
        line = f"{stamp} {record.levelname} {printable(record.getMessage(), one_line=True)}"
        line = f"{line} {extra}" if extra else line
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(log_format: LogFormat, verbose: bool) -> None:
    """Events of the watcher at INFO; the rest of NoticeDesk at WARNING, or INFO with ``--verbose``."""

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("noticedesk.watch").setLevel(logging.DEBUG if verbose else logging.INFO)
