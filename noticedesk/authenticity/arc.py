"""Check an ARC chain (RFC 8617) with dkimpy; read what a trusted forwarder's seal vouches for.

An ARC chain is only worth what its sealer is worth: anybody can seal a mail and write
"dkim=pass" in its ARC-Authentication-Results. So a chain counts only when it verifies and the
instance whose results we read was sealed by a configured trusted forwarder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import authres
import dkim

from noticedesk.authenticity.dkim import DKIMPY_LOGGER
from noticedesk.authenticity.keys import KeyLookup

ChainStatus = Literal["pass", "fail", "no-key"]
_INSTANCE = re.compile(r"^\s*i\s*=\s*\d+\s*;\s*")


@dataclass(frozen=True)
class ArcCheck:
    status: ChainStatus
    sealers: tuple[str, ...]
    """The ARC-Seal d= domains, newest first."""
    vouched: tuple[tuple[str, str], ...] = ()
    """(trusted sealer, domain) for each dkim=pass recorded by a trusted sealer."""
    detail: str = ""


def _domain_of_result(result: authres.AuthenticationResult) -> str:
    for prop in result.properties:
        if prop.type == "header" and prop.name in ("d", "i"):
            return str(prop.value).rpartition("@")[2].strip().lower()
    return ""


def _dkim_passes(aar: bytes) -> list[str]:
    text = _INSTANCE.sub("", aar.decode("utf-8", errors="replace").replace("\r\n", " "))
    try:
        parsed = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {text.strip()}")
    except authres.AuthResError:
        return []
    return [
        domain
        for result in parsed.results
        if result.method == "dkim" and result.result == "pass" and (domain := _domain_of_result(result))
    ]


def _trusted(domain: str, trusted_sealers: tuple[str, ...]) -> bool:
    return any(domain == sealer or domain.endswith("." + sealer) for sealer in trusted_sealers)


def check_arc(raw: bytes, lookup: KeyLookup, trusted_sealers: tuple[str, ...]) -> ArcCheck | None:
    """None when the message carries no ARC set."""
    problems: list[str] = []

    def keys(name: bytes, timeout: int = 5) -> bytes | None:
        del timeout
        answer = lookup(name.decode("ascii", errors="replace"))
        if answer.problem:
            problems.append(answer.problem)
        return answer.record

    try:
        verifier = dkim.ARC(raw, logger=DKIMPY_LOGGER)
        status, results, comment = verifier.verify(dnsfunc=keys)
    except dkim.DKIMException as error:
        return ArcCheck("fail", (), (), str(error))
    if status == dkim.CV_None and not results:
        return None
    sealers = tuple(result["as-domain"].decode("ascii", "replace").lower() for result in results)
    if status != dkim.CV_Pass:
        return ArcCheck("no-key" if problems else "fail", sealers, (), "; ".join(problems) or comment)
    vouched = tuple(
        (sealer, domain)
        for sealer, result in zip(sealers, results, strict=True)
        if _trusted(sealer, trusted_sealers)
        for domain in _dkim_passes(result["aar-value"])
    )
    return ArcCheck("pass", sealers, vouched, comment)
