"""Is this mail really from AWS? The verdict that gates every action on an account.

Triage's first look: a sender domain that names AWS without being AWS's is ``suspicious``;
everything else is ``unverified`` until a signature proves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from noticedesk.config import Config
from noticedesk.mail.parse import ParsedMail, domain_of
from noticedesk.notices.model import Authenticity
from noticedesk.notices.rules import RuleTable, rule_table
from noticedesk.notices.senders import is_lookalike


@dataclass(frozen=True)
class Verdict:
    authenticity: Authenticity
    reasons: tuple[str, ...] = ()


def assess(
    raw: bytes,
    outer: ParsedMail,
    original: ParsedMail,
    config: Config,
    table: RuleTable | None = None,
) -> Verdict:
    """Judge one message. ``outer`` is the mail as received, ``original`` the AWS notice inside."""
    del raw  # signatures are not checked yet
    table = table or rule_table()
    extra = tuple(config.senders.extra_domains)
    reasons = [
        f"{role} domain {domain} names AWS but is not an AWS domain"
        for role, domain in (
            ("From", original.from_domain),
            ("Reply-To", domain_of(original.reply_to)),
            ("Return-Path", domain_of(outer.return_path)),
        )
        if domain and is_lookalike(domain, table, extra)
    ]
    if reasons:
        return Verdict(Authenticity.SUSPICIOUS, tuple(dict.fromkeys(reasons)))
    return Verdict(Authenticity.UNVERIFIED, ("no signature checked",))
