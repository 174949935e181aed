"""Small helpers shared by the tests: read a fixture mail and classify it as triage does."""

from __future__ import annotations

from pathlib import Path

from noticedesk.mail.forwarded import original_of
from noticedesk.mail.parse import ParsedMail, parse_bytes
from noticedesk.notices.classify import classify
from noticedesk.notices.model import Notice

MAILS = Path(__file__).parent / "data" / "mails"


def mail_bytes(name: str) -> bytes:
    return (MAILS / name).read_bytes()


def original(raw: bytes) -> ParsedMail:
    message, outer = parse_bytes(raw, "<test>")
    return original_of(message, outer)


def notice_of(raw: bytes) -> Notice:
    return classify(original(raw))
