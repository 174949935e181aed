"""Property: a message whose From domain is outside the sender allow-list is never ``verified``,
whatever signs it and whatever a forwarder or receiver claims."""

from __future__ import annotations

from dkimkit import fixture, judge_mail, key_pair, sign
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noticedesk.authenticity.arc import ArcCheck
from noticedesk.authenticity.dkim import SignatureCheck
from noticedesk.authenticity.keys import KeyAnswer
from noticedesk.authenticity.knowledge import auth_policy, within
from noticedesk.authenticity.receivers import ReceiverResult
from noticedesk.authenticity.verdict import Evidence, judge
from noticedesk.config import AuthenticityConfig, Config
from noticedesk.notices.model import Authenticity, Kind
from noticedesk.notices.rules import rule_table

AWS_DOMAINS = rule_table().aws_domains
SIGNERS = ["amazon.com", "aws.com", "amazonaws.com", "sns.amazonaws.com", "amazonses.com", "evil.com"]

label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
domains = st.builds(
    lambda prefix, middle, tld: f"{prefix}{middle}.{tld}",
    st.sampled_from(["", "amazon.com.", "aws.", "amazonaws-", "aws-", "mail."]),
    label,
    st.sampled_from(["com", "net", "co.jp", "aws", "amazon", "example"]),
).filter(lambda domain: not within(domain, AWS_DOMAINS))


@settings(max_examples=200)
@given(
    from_domain=domains,
    kind=st.sampled_from([kind.value for kind in Kind]),
    signed_by=st.lists(st.sampled_from([*SIGNERS, "SAME"]), max_size=3),
    arc_vouched=st.lists(st.sampled_from(SIGNERS), max_size=2),
    forwarded=st.booleans(),
)
def test_judge_never_verifies_a_sender_outside_the_allow_list(
    from_domain: str, kind: str, signed_by: list[str], arc_vouched: list[str], forwarded: bool
) -> None:
    policy = auth_policy()
    evidence = Evidence(
        kind=kind,
        from_domain=from_domain,
        aws_domains=AWS_DOMAINS,
        signers=policy.signers_for(kind),
        signatures=tuple(
            SignatureCheck(from_domain if signer == "SAME" else signer, "s1", "pass") for signer in signed_by
        ),
        arc=ArcCheck("pass", ("google.com",), tuple(("google.com", domain) for domain in arc_vouched)),
        receiver_passes=(ReceiverResult("mx.google.com", "dmarc", "pass", from_domain),),
        forwarded_by="taro@customer.co.jp" if forwarded else None,
    )
    assert judge(evidence, policy).authenticity is not Authenticity.VERIFIED


def _every_key(name: str) -> KeyAnswer:
    return KeyAnswer(key_pair("main")[1], source="pinned")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(from_domain=domains, signer=st.sampled_from([*SIGNERS, "SAME"]))
def test_signed_mail_from_outside_the_allow_list_is_never_verified(from_domain: str, signer: str) -> None:
    raw = fixture("compromised.eml").replace(b"no-reply-aws@amazon.com", f"billing@{from_domain}".encode())
    signed = sign(raw, from_domain if signer == "SAME" else signer)
    config = Config(authenticity=AuthenticityConfig(trusted_authserv_ids=["mx.google.com"]))
    _, verdict = judge_mail(signed, _every_key, config)
    assert verdict.authenticity is not Authenticity.VERIFIED
