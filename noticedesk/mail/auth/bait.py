"""Urgency plus payment or credential bait: the voice of a phishing mail. Patterns are data. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from noticedesk.mail.auth.policy import AuthPolicy, BaitRule

_TEXT_CHARS = 60_000


@dataclass(frozen=True)
class BaitFinding:
    rule: BaitRule
    evidence: str


def find_bait(subject: str, text: str, policy: AuthPolicy) -> tuple[BaitFinding, ...]:
    """Findings only when urgency and a payment or credential request are both present."""
    haystack = f"{subject}\n{text[:_TEXT_CHARS]}"
    hits: list[BaitFinding] = []
    for rule in policy.bait:
        match = rule.pattern.search(haystack)
        if match is not None:
            hits.append(BaitFinding(rule, " ".join(match.group(0).split())[:60]))
    categories = {hit.rule.category for hit in hits}
    if "urgency" not in categories or not categories & {"payment", "credentials"}:
        return ()
    return tuple(hit for hit in hits if hit.rule.category != "urgency")
