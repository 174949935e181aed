"""Check every DKIM-Signature of a message with dkimpy, keys from an injected lookup.

The key is looked up here, before dkimpy runs, so that a missing key (``no-key``: nothing proven)
stays apart from a signature that does not verify (``fail``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import dkim

from noticedesk.authenticity.keys import KeyLookup

SignatureStatus = Literal["pass", "fail", "no-key"]
Failure = Literal["", "body", "headers", "malformed"]
DKIMPY_LOGGER = logging.getLogger("noticedesk.dkimpy")
DKIMPY_LOGGER.addHandler(logging.NullHandler())
DKIMPY_LOGGER.propagate = False


@dataclass(frozen=True)
class SignatureCheck:
    domain: str
    selector: str
    status: SignatureStatus
    detail: str = ""
    key_source: str = ""
    failure: Failure = ""
    """Why a ``fail``: the body changed, the signed headers (or the key) do not match, or unreadable."""


def _text(value: bytes | None) -> str:
    return (value or b"").decode("ascii", errors="replace").strip().lower()


def check_signatures(raw: bytes, lookup: KeyLookup) -> tuple[SignatureCheck, ...]:
    """One result per DKIM-Signature header, topmost first; () when there is none."""
    try:
        verifier = dkim.DKIM(raw, logger=DKIMPY_LOGGER)
    except dkim.DKIMException as error:
        return (SignatureCheck("", "", "fail", f"message not readable for DKIM: {error}", "", "malformed"),)
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    return tuple(_check_one(verifier, index, lookup) for index in range(count))


def _check_one(verifier: dkim.DKIM, index: int, lookup: KeyLookup) -> SignatureCheck:
    try:
        prepared = verifier.verify_headerprep(index)
    except dkim.DKIMException as error:
        return SignatureCheck("", "", "fail", f"malformed signature: {error}", "", "malformed")
    signature = prepared[0]
    domain, selector = _text(signature.get(b"d")), _text(signature.get(b"s"))
    answer = lookup(f"{selector}._domainkey.{domain}")
    if answer.record is None:
        return SignatureCheck(domain, selector, "no-key", answer.problem or "no key", answer.source)
    record = answer.record

    def pinned(name: bytes, timeout: int = 5) -> bytes:
        del name, timeout  # the key was looked up above
        return record

    try:
        valid = verifier.verify(index, dnsfunc=pinned)
    except dkim.DKIMException as error:
        failure: Failure = "body" if "body hash mismatch" in str(error) else "malformed"
        return SignatureCheck(domain, selector, "fail", str(error), answer.source, failure)
    if valid:
        return SignatureCheck(domain, selector, "pass", "", answer.source)
    return SignatureCheck(
        domain, selector, "fail", "signature does not match the key", answer.source, "headers"
    )
