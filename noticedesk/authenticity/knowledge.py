"""The authenticity data (``data/authenticity.toml``, ``data/reasons.toml``) loaded once, and the
domain arithmetic that uses it: organisational domains, alignment, who may sign for a kind. Pure.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class BaitRule:
    id: str
    category: str  # urgency | payment | credentials
    pattern: re.Pattern[str]
    en: str
    ja: str


@dataclass(frozen=True)
class ReasonTemplate:
    en: str
    ja: str


@dataclass(frozen=True)
class AuthPolicy:
    dkim_domains: dict[str, tuple[str, ...]]
    public_suffixes: frozenset[str]
    aws_link_domains: tuple[str, ...]
    customer_content_hosts: tuple[re.Pattern[str], ...]
    link_claims: re.Pattern[str]
    bait: tuple[BaitRule, ...]
    reasons: dict[str, ReasonTemplate]

    def signers_for(self, kind: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The d= domains that may vouch for a notice of this kind."""
        if kind == "not-aws":
            return ()
        return (*self.dkim_domains.get(kind, self.dkim_domains["default"]), *extra)

    def organisational_domain(self, domain: str) -> str:
        """Registrable domain, as DMARC uses it (a small suffix table instead of the full PSL)."""
        labels = domain.lower().strip(".").split(".")
        size = 3 if ".".join(labels[-2:]) in self.public_suffixes else 2
        return ".".join(labels[-size:])

    def aligned(self, signer: str, from_domain: str) -> bool:
        """DMARC relaxed alignment: the same organisational domain."""
        return bool(signer and from_domain) and (
            self.organisational_domain(signer) == self.organisational_domain(from_domain)
        )

    def is_customer_content(self, host: str) -> bool:
        return any(pattern.search(host) for pattern in self.customer_content_hosts)


def within(domain: str, allowed: tuple[str, ...]) -> bool:
    domain = domain.lower().strip(".")
    return any(domain == entry or domain.endswith("." + entry) for entry in allowed)


def parse_policy(data: dict[str, Any], reasons: dict[str, Any]) -> AuthPolicy:
    flags = re.IGNORECASE
    return AuthPolicy(
        dkim_domains={kind: tuple(domains) for kind, domains in data["dkim_domains"].items()},
        public_suffixes=frozenset(data["public_suffixes"]),
        aws_link_domains=tuple(data["aws_link_domains"]),
        customer_content_hosts=tuple(re.compile(p, flags) for p in data["customer_content_hosts"]),
        link_claims=re.compile(data["link_claims"], flags),
        bait=tuple(
            BaitRule(e["id"], e["category"], re.compile(e["pattern"], flags), e["en"], e["ja"])
            for e in data["bait"]
        ),
        reasons={code: ReasonTemplate(text["en"], text["ja"]) for code, text in reasons.items()},
    )


def _read(name: str) -> dict[str, Any]:
    text = resources.files("noticedesk.authenticity").joinpath(f"data/{name}").read_text("utf-8")
    return tomllib.loads(text)


@cache
def auth_policy() -> AuthPolicy:
    return parse_policy(_read("authenticity.toml"), _read("reasons.toml"))
