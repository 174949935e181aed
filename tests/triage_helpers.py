"""Small helpers shared by the tests: read a fixture mail and classify it as triage does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from noticedesk.cli import App
from noticedesk.config import Config
from noticedesk.mail.forwarded import original_of
from noticedesk.mail.parse import ParsedMail, parse_bytes
from noticedesk.notices.classify import classify
from noticedesk.notices.model import Notice

MAILS = Path(__file__).parent / "data" / "mails"
HEALTH = Path(__file__).parent / "data" / "health"


def mail_bytes(name: str) -> bytes:
    return (MAILS / name).read_bytes()


def original(raw: bytes) -> ParsedMail:
    message, outer = parse_bytes(raw, "<test>")
    return original_of(message, outer)


def notice_of(raw: bytes) -> Notice:
    return classify(original(raw))


def make_app(engine: Engine, now: datetime) -> App:
    """The CLI's ``App`` over a test store with a fixed clock (passed to CliRunner as ``obj``)."""
    return App(db_url=engine.url.render_as_string(), config=Config(), now=lambda: now, _engine=engine)


def mbox_of(*raws: bytes) -> bytes:
    """An mboxrd file: "From " separator lines, body lines starting with ">*From " escaped."""
    out = bytearray()
    for raw in raws:
        out += b"From MAILER-DAEMON Fri Nov 27 03:00:00 2026\n"
        for line in raw.splitlines(keepends=True):
            out += (b">" + line) if line.lstrip(b">").startswith(b"From ") else line
        out += b"\n"
    return bytes(out)
