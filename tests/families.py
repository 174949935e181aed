"""Paraphrase fixtures: each wording family of AWS notice in three voices, as mails.

A family (tests/data/families/*.toml) says what a kind of notice *means* and how it must be read
(kind, stage, abuse types, some facts); its voices say it in different words: a terse template,
a chatty support engineer, and a colleague's Japanese forward (Outlook style, "転送:" subject,
ISO-2022-JP or Shift_JIS). ``mail_of`` builds the mail bytes triage reads.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from email.header import Header
from pathlib import Path
from typing import Any

FAMILIES = Path(__file__).parent / "data" / "families"
_DATE = "Fri, 27 Nov 2026 06:00:00 +0000"


@dataclass(frozen=True)
class Voice:
    family: str
    name: str
    sender: str
    subject: str
    body: str
    charset: str = "utf-8"
    forwarder: str = ""
    preface: str = ""

    @property
    def label(self) -> str:
        return f"{self.family}/{self.name}"


@dataclass(frozen=True)
class Family:
    name: str
    meaning: str
    kind: str
    stage: str
    abuse_types: tuple[str, ...]
    facts: dict[str, Any]
    voices: tuple[Voice, ...] = field(default=())


def families() -> list[Family]:
    found = []
    for path in sorted(FAMILIES.glob("*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        name = path.stem
        voices = tuple(
            Voice(
                family=name,
                name=voice["name"],
                sender=voice.get("from", data.get("from", "Amazon Web Services <no-reply-aws@amazon.com>")),
                subject=voice.get("subject", ""),
                body=voice["body"],
                charset=voice.get("charset", "utf-8"),
                forwarder=voice.get("forwarder", ""),
                preface=voice.get("preface", ""),
            )
            for voice in data["voice"]
        )
        found.append(
            Family(
                name=name,
                meaning=data["meaning"],
                kind=data["kind"],
                stage=data["stage"],
                abuse_types=tuple(data.get("abuse_types", ())),
                facts=data.get("facts", {}),
                voices=voices,
            )
        )
    return found


def mail_of(voice: Voice) -> bytes:
    """The voice as a mail: sent by AWS, or forwarded by a colleague with the original inline."""
    if not voice.forwarder:
        return _message(voice.sender, voice.subject, voice.body, voice.charset)
    original = (
        f"{voice.preface}\n\n"
        "________________________________\n"
        f"差出人: {voice.sender}\n"
        "送信日時: 2026年11月27日 15:00\n"
        "宛先: infra@example.jp\n"
        f"件名: {voice.subject}\n\n"
        f"{voice.body}"
    )
    return _message(voice.forwarder, f"転送: {voice.subject}".rstrip(), original, voice.charset)


def _message(sender: str, subject: str, body: str, charset: str) -> bytes:
    headers = [
        f"From: {sender}",
        "To: infra@example.jp",
        f"Date: {_DATE}",
        f"Message-ID: <{hashlib.sha1((sender + subject + body).encode()).hexdigest()}@fixture.example>",
        "MIME-Version: 1.0",
    ]
    if subject:
        encoded = subject if subject.isascii() else Header(subject, charset).encode()
        headers.append(f"Subject: {encoded}")
    transfer = "7bit" if charset.lower() in ("iso-2022-jp", "us-ascii") else "8bit"
    headers += [f'Content-Type: text/plain; charset="{charset}"', f"Content-Transfer-Encoding: {transfer}"]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body.replace("\n", "\r\n").encode(charset)
