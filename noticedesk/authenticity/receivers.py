"""Authentication-Results (RFC 8601) written by receivers we trust; all others are ignored.

Anybody can write an Authentication-Results header into a mail before sending it. Only a receiver
that removes such headers carrying its own authserv-id (as the big mailbox providers do) can be
believed, so only authserv-ids listed in ``[authenticity] trusted_authserv_ids`` count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import authres

_METHODS = ("dkim", "spf", "dmarc")
_DOMAIN_PROPERTIES = {
    "dkim": (("header", "d"), ("header", "i")),
    "spf": (("smtp", "mailfrom"), ("smtp", "helo")),
    "dmarc": (("header", "from"),),
}


@dataclass(frozen=True)
class ReceiverResult:
    authserv_id: str
    method: str
    result: str
    domain: str


@dataclass(frozen=True)
class ReceiverReport:
    trusted: tuple[ReceiverResult, ...]
    ignored_ids: tuple[str, ...]
    unreadable: int = 0


def _domain(result: authres.AuthenticationResult) -> str:
    wanted = _DOMAIN_PROPERTIES.get(result.method, ())
    for prop in result.properties:
        if (prop.type, prop.name) in wanted:
            return str(prop.value).rpartition("@")[2].strip().lower()
    return ""


def read_results(header_values: Iterable[str], trusted_ids: Iterable[str]) -> ReceiverReport:
    """Results of DKIM, SPF and DMARC from trusted receivers; the other authserv-ids, named."""
    trusted_set = {value.lower() for value in trusted_ids}
    trusted: list[ReceiverResult] = []
    ignored: list[str] = []
    unreadable = 0
    for value in header_values:
        unfolded = " ".join(value.split())
        try:
            parsed = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {unfolded}")
        except authres.AuthResError:
            unreadable += 1
            continue
        authserv_id = str(parsed.authserv_id).lower()
        if authserv_id not in trusted_set:
            ignored.append(authserv_id)
            continue
        trusted.extend(
            ReceiverResult(authserv_id, result.method, str(result.result).lower(), _domain(result))
            for result in parsed.results
            if result.method in _METHODS
        )
    return ReceiverReport(tuple(trusted), tuple(dict.fromkeys(ignored)), unreadable)
