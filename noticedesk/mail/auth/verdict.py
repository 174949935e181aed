"""Evidence in, verdict out: the one place that decides ``verified`` / ``failed`` / ``suspicious`` /
``unverified``, with every reason in English and Japanese. Pure.

Order of decision:
1. evidence of spoofing that no signature can outweigh (a lookalike sender domain, a trusted
   receiver's DMARC/DKIM/SPF failure, From an AWS domain but signed only by a non-AWS domain)
   → ``suspicious``;
2. a DKIM signature (or a trusted forwarder's ARC record of one) that verifies, whose d= may sign
   for this kind of notice and is aligned with the From domain → ``verified``;
3. a signature that does not verify → ``failed``;
4. deceptive links, or urgency with payment/credential bait → ``suspicious``;
5. otherwise nothing proves it either way → ``unverified``.
"""

from __future__ import annotations

from dataclasses import dataclass

from noticedesk.mail.auth.arc import ArcCheck
from noticedesk.mail.auth.bait import BaitFinding
from noticedesk.mail.auth.dkim import SignatureCheck
from noticedesk.mail.auth.links import DeceptiveLink
from noticedesk.mail.auth.policy import AuthPolicy, within
from noticedesk.mail.auth.receivers import ReceiverResult
from noticedesk.notices.model import Authenticity


@dataclass(frozen=True)
class Reason:
    code: str
    en: str
    ja: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "en": self.en, "ja": self.ja}


@dataclass(frozen=True)
class Verdict:
    authenticity: Authenticity
    reasons: tuple[Reason, ...] = ()

    @property
    def reasons_en(self) -> tuple[str, ...]:
        return tuple(reason.en for reason in self.reasons)

    @property
    def reasons_ja(self) -> tuple[str, ...]:
        return tuple(reason.ja for reason in self.reasons)


@dataclass(frozen=True)
class Evidence:
    """What was gathered about one message (the AWS original, or the mail itself)."""

    kind: str
    from_domain: str
    aws_domains: tuple[str, ...]
    """The sender allow-list (built-in plus ``[senders] extra_domains``)."""
    signers: tuple[str, ...]
    """The d= domains that may vouch for this kind."""
    signatures: tuple[SignatureCheck, ...] = ()
    arc: ArcCheck | None = None
    receiver_failures: tuple[ReceiverResult, ...] = ()
    receiver_passes: tuple[ReceiverResult, ...] = ()
    ignored_receivers: tuple[str, ...] = ()
    lookalikes: tuple[tuple[str, str], ...] = ()
    """(role, domain): From / Reply-To / Return-Path domains that imitate AWS."""
    links: tuple[DeceptiveLink, ...] = ()
    bait: tuple[BaitFinding, ...] = ()
    forwarded_by: str | None = None
    forwarded_inline: bool = False

    @property
    def from_is_aws(self) -> bool:
        return bool(self.from_domain) and within(self.from_domain, self.aws_domains)


def reason(policy: AuthPolicy, code: str, **values: str) -> Reason:
    template = policy.reasons[code]
    return Reason(code, template.en.format_map(values), template.ja.format_map(values))


def judge(evidence: Evidence, policy: AuthPolicy) -> Verdict:
    e = evidence
    r = _Reasons(policy)
    passes = [s for s in e.signatures if s.status == "pass"]
    vouching = [
        s
        for s in passes
        if e.from_is_aws and within(s.domain, e.signers) and policy.aligned(s.domain, e.from_domain)
    ]
    arc_vouching = [
        (sealer, domain)
        for sealer, domain in (e.arc.vouched if e.arc and e.arc.status == "pass" else ())
        if e.from_is_aws and within(domain, e.signers) and policy.aligned(domain, e.from_domain)
    ]
    failed = [s for s in e.signatures if s.status == "fail"]
    missing_keys = [s for s in e.signatures if s.status == "no-key"]
    outsiders = [s for s in passes if not within(s.domain, e.aws_domains)]

    hard = r.spoofing(e)
    if e.from_is_aws and outsiders and not vouching and not arc_vouching and not failed and not missing_keys:
        hard.append(r("signed-by-other", from_domain=e.from_domain, domain=outsiders[0].domain))
    soft = r.soft(e)
    context = r.context(e, passes, vouching, failed, missing_keys)

    if hard:
        return Verdict(Authenticity.SUSPICIOUS, r.done(hard + soft + context, e))
    if vouching or arc_vouching:
        proof = [
            r("dkim-aligned", domain=s.domain, from_domain=e.from_domain, **_source(s)) for s in vouching
        ] or [
            r("arc-vouched", sealer=sealer, domain=domain, from_domain=e.from_domain)
            for sealer, domain in arc_vouching
        ]
        notes = [r("service-text")] if e.kind == "aws-other" else []
        return Verdict(Authenticity.VERIFIED, r.done(proof + notes + soft + context, e))
    if failed:
        return Verdict(Authenticity.FAILED, r.done(context + soft, e))
    if soft:
        return Verdict(Authenticity.SUSPICIOUS, r.done(soft + context, e))
    return Verdict(Authenticity.UNVERIFIED, r.done(context, e))


def _source(signature: SignatureCheck) -> dict[str, str]:
    if signature.key_source == "pinned":
        return {"key_source": "the pinned keys file", "key_source_ja": "固定鍵ファイル"}
    return {"key_source": "DNS", "key_source_ja": "DNS"}


class _Reasons:
    def __init__(self, policy: AuthPolicy) -> None:
        self.policy = policy

    def __call__(self, code: str, **values: str) -> Reason:
        return reason(self.policy, code, **values)

    def spoofing(self, e: Evidence) -> list[Reason]:
        found = [self("lookalike", role=role, domain=domain) for role, domain in e.lookalikes]
        found += [
            self(
                "receiver-fail",
                authserv_id=result.authserv_id,
                method=result.method,
                result=result.result,
                domain=result.domain or "?",
            )
            for result in e.receiver_failures
        ]
        return found

    def soft(self, e: Evidence) -> list[Reason]:
        found = [
            self("deceptive-link", text=link.text, host=link.host, why=link.why, why_ja=link.why_ja)
            for link in e.links
        ]
        found += [
            self("bait", what=hit.rule.en, what_ja=hit.rule.ja, evidence=hit.evidence) for hit in e.bait
        ]
        return found

    def context(
        self,
        e: Evidence,
        passes: list[SignatureCheck],
        vouching: list[SignatureCheck],
        failed: list[SignatureCheck],
        missing_keys: list[SignatureCheck],
    ) -> list[Reason]:
        found: list[Reason] = []
        if e.forwarded_inline and e.forwarded_by:
            found.append(self("forwarded-inline", by=e.forwarded_by))
        elif e.forwarded_by:
            found.append(self("forwarded-attached", by=e.forwarded_by))
        if not e.from_is_aws and e.from_domain and ("From", e.from_domain) not in e.lookalikes:
            found.append(self("not-from-aws", from_domain=e.from_domain))
        found += [self.failure(s) for s in failed]
        found += [
            self("dkim-no-key", domain=s.domain, selector=s.selector, detail=s.detail) for s in missing_keys
        ]
        for s in passes:
            if s in vouching:
                continue
            if not within(s.domain, e.signers) and within(s.domain, e.aws_domains):
                found.append(self("dkim-not-allowed", domain=s.domain, kind=e.kind))
            elif not within(s.domain, e.aws_domains):
                found.append(self("dkim-other", domain=s.domain))
            elif not self.policy.aligned(s.domain, e.from_domain):
                found.append(self("dkim-unaligned", domain=s.domain, from_domain=e.from_domain or "?"))
        if e.arc is not None:
            sealer = e.arc.sealers[0] if e.arc.sealers else "?"
            if e.arc.status != "pass":
                found.append(self("arc-failed", sealer=sealer, detail=e.arc.detail))
            elif not e.arc.vouched:
                found.append(self("arc-untrusted", sealer=sealer))
        found += [
            self("receiver-pass", authserv_id=x.authserv_id, method=x.method, domain=x.domain or "?")
            for x in e.receiver_passes
        ]
        if not e.signatures and not e.forwarded_inline and not (e.arc and e.arc.vouched):
            found.append(self("no-signature"))
        return found

    def failure(self, s: SignatureCheck) -> Reason:
        if s.failure == "body":
            return self("dkim-failed-body", domain=s.domain)
        if s.failure == "headers":
            return self("dkim-failed-headers", domain=s.domain)
        return self("dkim-failed", domain=s.domain or "?", detail=s.detail)

    def done(self, reasons: list[Reason], e: Evidence) -> tuple[Reason, ...]:
        ignored = [self("receiver-ignored", authserv_id=name) for name in e.ignored_receivers]
        return tuple(dict.fromkeys(reasons + ignored))
