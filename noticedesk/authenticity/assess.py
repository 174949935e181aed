"""Gather the evidence about one mail (the only part that looks keys up), then judge it.

Which bytes are judged:
- a mail received directly: its own bytes, signatures, ARC set and Authentication-Results;
- a mail a customer forwarded with the AWS original attached (message/rfc822): the attached
  original, on its own bytes — its DKIM signature survives the forward;
- a mail a customer forwarded inline: the outer signature is the customer's and the original has
  none left, so nothing can prove it (``unverified``), though lookalikes, links and bait still count.
"""

from __future__ import annotations

from dataclasses import replace
from email.message import Message

from noticedesk.authenticity.arc import check_arc
from noticedesk.authenticity.bait import find_bait
from noticedesk.authenticity.dkim import check_signatures
from noticedesk.authenticity.keys import KeyLookup, key_lookup_for
from noticedesk.authenticity.knowledge import AuthPolicy, auth_policy, within
from noticedesk.authenticity.links import deceptive_links
from noticedesk.authenticity.receivers import read_results
from noticedesk.authenticity.verdict import Evidence, Verdict, judge
from noticedesk.config import Config
from noticedesk.mail.parse import ParsedMail, attached_messages, domain_of
from noticedesk.notices.rules import RuleTable, rule_table
from noticedesk.notices.senders import is_lookalike

_FAILURE = "fail"


def assess(
    raw: bytes,
    message: Message,
    outer: ParsedMail,
    original: ParsedMail,
    kind: str,
    config: Config,
    lookup: KeyLookup | None = None,
    table: RuleTable | None = None,
    policy: AuthPolicy | None = None,
) -> Verdict:
    """Judge one mail. ``outer`` is the mail as received, ``original`` the AWS notice inside it."""
    table = table or rule_table()
    policy = policy or auth_policy()
    lookup = lookup or key_lookup_for(config.dkim)
    extra = tuple(config.senders.extra_domains)
    aws_domains = (*table.aws_domains, *extra)
    forwarded = original.forwarded_by is not None and original is not outer
    attached = attached_messages(message) if forwarded else []
    from_attachment = bool(attached) and original.headers != outer.headers
    evidence = Evidence(
        kind=kind,
        from_domain=original.from_domain,
        aws_domains=aws_domains,
        signers=policy.signers_for(kind, extra),
        lookalikes=tuple(
            dict.fromkeys(
                (role, domain)
                for role, domain in (
                    ("From", original.from_domain),
                    ("Reply-To", domain_of(original.reply_to)),
                    ("Return-Path", domain_of(outer.return_path)),
                )
                if domain and is_lookalike(domain, table, extra)
            )
        ),
        links=deceptive_links(
            original.links,
            policy,
            lambda host: within(host, (*aws_domains, *policy.aws_link_domains)),
            lambda host: is_lookalike(host, table, extra),
        ),
        bait=find_bait(original.subject, original.text, policy),
        forwarded_by=original.forwarded_by if forwarded else None,
        forwarded_inline=forwarded and not from_attachment,
    )
    if forwarded and not from_attachment:
        return judge(evidence, policy)
    signed_bytes, signed_message = (
        (attached[0].as_bytes(), attached[0]) if from_attachment else (raw, message)
    )
    sealers = tuple(config.authenticity.trusted_arc_sealers)
    report = read_results(
        [str(value) for value in signed_message.get_all("Authentication-Results") or []],
        config.authenticity.trusted_authserv_ids,
    )

    def has(header: str) -> bool:
        return signed_message.get(header) is not None

    def about_aws(domain: str) -> bool:
        return bool(domain) and within(domain, aws_domains)

    failures = tuple(
        result
        for result in report.trusted
        if result.result == _FAILURE and (result.method == "dmarc" or about_aws(result.domain))
    )
    passes = tuple(result for result in report.trusted if result.result == "pass")
    return judge(
        replace(
            evidence,
            # dkimpy parses the whole message again: only when there is something to check.
            signatures=check_signatures(signed_bytes, lookup) if has("DKIM-Signature") else (),
            arc=check_arc(signed_bytes, lookup, sealers) if has("ARC-Seal") else None,
            receiver_failures=failures,
            receiver_passes=passes,
            ignored_receivers=report.ignored_ids,
        ),
        policy,
    )
