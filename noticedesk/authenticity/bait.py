"""Urgency plus payment or credential bait: the voice of a phishing mail. Patterns are data. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from noticedesk.authenticity.knowledge import AuthPolicy, BaitRule
from noticedesk.notices.needles import Matcher, Text
from noticedesk.notices.scanner import Scanner

_TEXT_CHARS = 60_000


@dataclass(frozen=True)
class BaitFinding:
    rule: BaitRule
    evidence: str


@cache
def matcher_for(pattern: re.Pattern[str]) -> Matcher:
    """The pattern behind its needles and case-sensitive twin (notices/needles.py): same answers."""
    return Matcher.compile(pattern.pattern, pattern.flags)


@cache
def _scanner(rules: tuple[BaitRule, ...]) -> Scanner:
    return Scanner(matcher_for(rule.pattern) for rule in rules)


def _hit(rule: BaitRule, haystack: str, folded: Text) -> BaitFinding | None:
    # Asked the quick way first; the pattern itself runs only on a hit, for its evidence.
    if not matcher_for(rule.pattern).found(folded):
        return None
    match = rule.pattern.search(haystack)
    return BaitFinding(rule, " ".join(match.group(0).split())[:60]) if match is not None else None


def find_bait(subject: str, text: str, policy: AuthPolicy) -> tuple[BaitFinding, ...]:
    """Findings only when urgency and a payment or credential request are both present.

    Urgency is asked first: without it nothing counts, and the other patterns need not run.
    """
    haystack = f"{subject}\n{text[:_TEXT_CHARS]}"
    folded = Text(haystack, _scanner(policy.bait))  # every bait pattern asked in one pass
    if not any(_hit(rule, haystack, folded) for rule in policy.bait if rule.category == "urgency"):
        return ()
    hits = [
        hit
        for rule in policy.bait
        if rule.category != "urgency" and (hit := _hit(rule, haystack, folded)) is not None
    ]
    if not {hit.rule.category for hit in hits} & {"payment", "credentials"}:
        return ()
    return tuple(hits)
