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

from noticedesk.authenticity.arc import ArcCheck
from noticedesk.authenticity.bait import BaitFinding
from noticedesk.authenticity.dkim import SignatureCheck
from noticedesk.authenticity.knowledge import AuthPolicy, within
from noticedesk.authenticity.links import DeceptiveLink
from noticedesk.authenticity.receivers import ReceiverResult
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
    say = _Reasons(policy)
    passes = [s for s in evidence.signatures if s.status == "pass"]
    vouching = [
        s
        for s in passes
        if evidence.from_is_aws
        and within(s.domain, evidence.signers)
        and policy.aligned(s.domain, evidence.from_domain)
    ]
    arc_vouching = [
        (sealer, domain)
        for sealer, domain in (evidence.arc.vouched if evidence.arc and evidence.arc.status == "pass" else ())
        if evidence.from_is_aws
        and within(domain, evidence.signers)
        and policy.aligned(domain, evidence.from_domain)
    ]
    failed = [s for s in evidence.signatures if s.status == "fail"]
    missing_keys = [s for s in evidence.signatures if s.status == "no-key"]
    outsiders = [s for s in passes if not within(s.domain, evidence.aws_domains)]

    hard = say.spoofing(evidence)
    if (
        evidence.from_is_aws
        and outsiders
        and not vouching
        and not arc_vouching
        and not failed
        and not missing_keys
    ):
        hard.append(say("signed-by-other", from_domain=evidence.from_domain, domain=outsiders[0].domain))
    soft = say.soft(evidence)
    context = say.context(evidence, passes, vouching, failed, missing_keys)

    if hard:
        return Verdict(Authenticity.SUSPICIOUS, say.done(hard + soft + context, evidence))
    if vouching or arc_vouching:
        proof = [
            say("dkim-aligned", domain=s.domain, from_domain=evidence.from_domain, **_source(s))
            for s in vouching
        ] or [
            say("arc-vouched", sealer=sealer, domain=domain, from_domain=evidence.from_domain)
            for sealer, domain in arc_vouching
        ]
        notes = [say("service-text")] if evidence.kind == "aws-other" else []
        return Verdict(Authenticity.VERIFIED, say.done(proof + notes + soft + context, evidence))
    if failed:
        return Verdict(Authenticity.FAILED, say.done(context + soft, evidence))
    if soft:
        return Verdict(Authenticity.SUSPICIOUS, say.done(soft + context, evidence))
    return Verdict(Authenticity.UNVERIFIED, say.done(context, evidence))


def _source(signature: SignatureCheck) -> dict[str, str]:
    if signature.key_source == "pinned":
        return {"key_source": "the pinned keys file", "key_source_ja": "固定鍵ファイル"}
    return {"key_source": "DNS", "key_source_ja": "DNS"}


class _Reasons:
    def __init__(self, policy: AuthPolicy) -> None:
        self.policy = policy

    def __call__(self, code: str, **values: str) -> Reason:
        return reason(self.policy, code, **values)

    def spoofing(self, evidence: Evidence) -> list[Reason]:
        found = [self("lookalike", role=role, domain=domain) for role, domain in evidence.lookalikes]
        found += [
            self(
                "receiver-fail",
                authserv_id=result.authserv_id,
                method=result.method,
                result=result.result,
                domain=result.domain or "?",
            )
            for result in evidence.receiver_failures
        ]
        return found

    def soft(self, evidence: Evidence) -> list[Reason]:
        found = [
            self("deceptive-link", text=link.text, host=link.host, why=link.why, why_ja=link.why_ja)
            for link in evidence.links
        ]
        found += [
            self("bait", what=hit.rule.en, what_ja=hit.rule.ja, evidence=hit.evidence)
            for hit in evidence.bait
        ]
        return found

    def context(
        self,
        evidence: Evidence,
        passes: list[SignatureCheck],
        vouching: list[SignatureCheck],
        failed: list[SignatureCheck],
        missing_keys: list[SignatureCheck],
    ) -> list[Reason]:
        found: list[Reason] = []
        if evidence.forwarded_inline and evidence.forwarded_by:
            found.append(self("forwarded-inline", by=evidence.forwarded_by))
        elif evidence.forwarded_by:
            found.append(self("forwarded-attached", by=evidence.forwarded_by))
        if (
            not evidence.from_is_aws
            and evidence.from_domain
            and ("From", evidence.from_domain) not in evidence.lookalikes
        ):
            found.append(self("not-from-aws", from_domain=evidence.from_domain))
        found += [self.failure(s) for s in failed]
        found += [
            self("dkim-no-key", domain=s.domain, selector=s.selector, detail=s.detail) for s in missing_keys
        ]
        for s in passes:
            if s in vouching:
                continue
            if not within(s.domain, evidence.signers) and within(s.domain, evidence.aws_domains):
                found.append(self("dkim-not-allowed", domain=s.domain, kind=evidence.kind))
            elif not within(s.domain, evidence.aws_domains):
                found.append(self("dkim-other", domain=s.domain))
            elif not self.policy.aligned(s.domain, evidence.from_domain):
                found.append(self("dkim-unaligned", domain=s.domain, from_domain=evidence.from_domain or "?"))
        if evidence.arc is not None:
            sealer = evidence.arc.sealers[0] if evidence.arc.sealers else "?"
            if evidence.arc.status != "pass":
                found.append(self("arc-failed", sealer=sealer, detail=evidence.arc.detail))
            elif not evidence.arc.vouched:
                found.append(self("arc-untrusted", sealer=sealer))
        found += [
            self(
                "receiver-pass",
                authserv_id=result.authserv_id,
                method=result.method,
                domain=result.domain or "?",
            )
            for result in evidence.receiver_passes
        ]
        if (
            not evidence.signatures
            and not evidence.forwarded_inline
            and not (evidence.arc and evidence.arc.vouched)
        ):
            found.append(self("no-signature"))
        return found

    def failure(self, s: SignatureCheck) -> Reason:
        if s.failure == "body":
            return self("dkim-failed-body", domain=s.domain)
        if s.failure == "headers":
            return self("dkim-failed-headers", domain=s.domain)
        return self("dkim-failed", domain=s.domain or "?", detail=s.detail)

    def done(self, reasons: list[Reason], evidence: Evidence) -> tuple[Reason, ...]:
        ignored = [self("receiver-ignored", authserv_id=name) for name in evidence.ignored_receivers]
        return tuple(dict.fromkeys(reasons + ignored))
