"""Test helpers: a throwaway RSA key, DKIM/ARC signing with dkimpy, pinned key files, assessing."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from noticedesk.authenticity import Verdict, assess
from noticedesk.authenticity.keys import KeyLookup, PinnedKeys
from noticedesk.config import Config
from noticedesk.mail.forwarded import original_of
from noticedesk.mail.parse import parse_bytes
from noticedesk.notices.classify import classify

DATA = Path(__file__).parent / "data" / "auth"
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"content-type"]


@cache
def key_pair(label: str = "main") -> tuple[bytes, bytes]:
    """(private key PEM, DKIM TXT record) for a fresh 1024-bit RSA key; one per label per run."""
    del label
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def fixture(name: str) -> bytes:
    """A fixture mail with CRLF line endings, as it travels."""
    return (DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def sign(raw: bytes, domain: str, selector: str = "s1", label: str = "main") -> bytes:
    private, _ = key_pair(label)
    header = dkim.sign(raw, selector.encode(), domain.encode(), private, include_headers=SIGNED_HEADERS)
    return bytes(header) + raw


def arc_seal(raw: bytes, sealer: str, authserv_id: str, selector: str = "arc") -> bytes:
    private, _ = key_pair("main")
    headers = dkim.arc_sign(raw, selector.encode(), sealer.encode(), private, authserv_id.encode())
    return b"".join(headers) + raw


def pinned(*names: str, label: str = "main") -> PinnedKeys:
    """Pinned keys for SELECTOR._domainkey.DOMAIN names, all with the key of ``label``."""
    _, record = key_pair(label)
    return PinnedKeys({name.lower(): record for name in names})


def keys_file(path: Path, *names: str) -> Path:
    _, record = key_pair("main")
    path.write_text("".join(f"{name}  {record.decode()}\n" for name in names), encoding="utf-8")
    return path


def judge_mail(raw: bytes, lookup: KeyLookup, config: Config | None = None) -> tuple[str, Verdict]:
    """(kind, verdict) of a mail, as triage would compute them."""
    config = config or Config()
    message, outer = parse_bytes(raw, "test")
    original = original_of(message, outer)
    notice = classify(original, extra_domains=tuple(config.senders.extra_domains))
    return notice.kind.value, assess(raw, message, outer, original, notice.kind.value, config, lookup)


def codes(verdict: Verdict) -> list[str]:
    return [reason.code for reason in verdict.reasons]
