"""Verdicts on signed mails: each shape of real and fake notice from issue 3."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser

import dns.exception
import dns.resolver
import pytest
from dkimkit import arc_seal, codes, fixture, judge_mail, key_pair, pinned, sign

from noticedesk.authenticity.keys import DnsKeys
from noticedesk.config import AuthenticityConfig, Config, SendersConfig
from noticedesk.notices.model import Authenticity

AWS_KEY = "s1._domainkey.amazon.com"
TRUSTING = Config(
    authenticity=AuthenticityConfig(
        trusted_authserv_ids=["mx.google.com"], trusted_arc_sealers=["google.com"]
    )
)


def signed_notice() -> bytes:
    return sign(fixture("compromised.eml"), "amazon.com")


def test_valid_signature_of_aws_is_verified() -> None:
    kind, verdict = judge_mail(signed_notice(), pinned(AWS_KEY))
    assert kind == "account-compromised"
    assert verdict.authenticity is Authenticity.VERIFIED
    assert codes(verdict) == ["dkim-aligned"]
    assert "amazon.com" in verdict.reasons[0].en
    assert "整合" in verdict.reasons[0].ja


def test_body_tampered_is_failed() -> None:
    raw = signed_notice().replace(b"Please rotate the key", b"Please send us the key")
    _, verdict = judge_mail(raw, pinned(AWS_KEY))
    assert verdict.authenticity is Authenticity.FAILED
    assert codes(verdict) == ["dkim-failed-body"]


def test_header_tampered_is_failed() -> None:
    raw = signed_notice().replace(b"Subject: Your AWS account", b"Subject: URGENT Your AWS account")
    _, verdict = judge_mail(raw, pinned(AWS_KEY))
    assert verdict.authenticity is Authenticity.FAILED
    assert codes(verdict) == ["dkim-failed-headers"]


def test_signature_by_another_key_is_failed() -> None:
    raw = sign(fixture("compromised.eml"), "amazon.com", label="attacker")
    _, verdict = judge_mail(raw, pinned(AWS_KEY))
    assert verdict.authenticity is Authenticity.FAILED


def test_wrong_domain_signing_for_aws_is_suspicious() -> None:
    raw = sign(fixture("compromised.eml"), "evil.com")
    _, verdict = judge_mail(raw, pinned("s1._domainkey.evil.com"))
    assert verdict.authenticity is Authenticity.SUSPICIOUS
    assert "signed-by-other" in codes(verdict)
    assert "evil.com" in verdict.reasons[0].en


def test_amazonses_signature_does_not_align_with_amazon_com() -> None:
    # Every SES customer's mail carries d=amazonses.com: it must never vouch for From @amazon.com.
    raw = sign(fixture("compromised.eml"), "amazonses.com")
    _, verdict = judge_mail(raw, pinned("s1._domainkey.amazonses.com"))
    assert verdict.authenticity is Authenticity.UNVERIFIED
    assert "dkim-not-allowed" in codes(verdict)


def test_lookalike_sender_with_its_own_valid_signature_is_suspicious() -> None:
    raw = sign(fixture("lookalike.eml"), "amazonaws-alerts.com")
    _, verdict = judge_mail(raw, pinned("s1._domainkey.amazonaws-alerts.com"))
    assert verdict.authenticity is Authenticity.SUSPICIOUS
    assert codes(verdict)[0] == "lookalike"
    assert "dkim-other" in codes(verdict)


def _customer_forward() -> bytes:
    body = fixture("customer-forward.txt").decode()
    raw = (
        "From: Taro Yamada <taro@customer.co.jp>\r\nTo: desk@example.jp\r\n"
        "Subject: Fwd: Your AWS account 111122223333 is compromised\r\n"
        "Date: Sat, 28 Nov 2026 09:00:00 +0000\r\nMessage-ID: <fwd-1@customer.co.jp>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
    ).encode()
    return sign(raw, "customer.co.jp")


def test_inline_forward_by_a_customer_is_unverified_not_suspicious() -> None:
    raw = _customer_forward()
    kind, verdict = judge_mail(raw, pinned("s1._domainkey.customer.co.jp", AWS_KEY))
    assert kind == "account-compromised"
    assert verdict.authenticity is Authenticity.UNVERIFIED
    assert codes(verdict) == ["forwarded-inline"]
    assert "taro@customer.co.jp" in verdict.reasons[0].en


def _attach(original: bytes, subject: str = "Fwd: AWS notice") -> bytes:
    outer = MIMEMultipart()
    outer["From"] = "Taro Yamada <taro@customer.co.jp>"
    outer["To"] = "desk@example.jp"
    outer["Subject"] = subject
    outer["Message-ID"] = "<fwd-attached@customer.co.jp>"
    outer.attach(MIMEText("See the attached notice from AWS.", "plain", "utf-8"))
    part = Message()
    part["Content-Type"] = "message/rfc822"
    part["Content-Disposition"] = 'attachment; filename="notice.eml"'
    part.set_payload([BytesParser().parsebytes(original)])
    outer.attach(part)
    return outer.as_bytes()


def test_attached_original_is_verified_on_its_own_bytes() -> None:
    raw = _attach(signed_notice())
    kind, verdict = judge_mail(raw, pinned(AWS_KEY))
    assert kind == "account-compromised"
    assert verdict.authenticity is Authenticity.VERIFIED
    assert codes(verdict) == ["dkim-aligned", "forwarded-attached"]


def test_attached_original_that_was_edited_is_failed() -> None:
    edited = signed_notice().replace(b"case 5244329601", b"case 9999999999")
    _, verdict = judge_mail(_attach(edited), pinned(AWS_KEY))
    assert verdict.authenticity is Authenticity.FAILED


def _through_trusted_forwarder() -> bytes:
    """A mailing list that checked DKIM, recorded it, appended a footer (breaking DKIM), sealed ARC."""
    results = (
        b"Authentication-Results: mx.google.com; dkim=pass header.i=@amazon.com header.s=s1;"
        b" spf=pass smtp.mailfrom=amazon.com; dmarc=pass header.from=amazon.com\r\n"
    )
    altered = signed_notice() + b"\r\n--\r\nYou received this because you are in ops@example.jp\r\n"
    return arc_seal(results + altered, "google.com", "mx.google.com")


def test_arc_sealed_by_a_trusted_forwarder_is_verified() -> None:
    raw = _through_trusted_forwarder()
    keys = pinned(AWS_KEY, "arc._domainkey.google.com")
    _, verdict = judge_mail(raw, keys, TRUSTING)
    assert verdict.authenticity is Authenticity.VERIFIED
    assert codes(verdict)[0] == "arc-vouched"
    assert "dkim-failed-body" in codes(verdict)  # the direct signature is broken, and we say so


def test_arc_sealed_by_an_untrusted_forwarder_does_not_count() -> None:
    raw = _through_trusted_forwarder()
    keys = pinned(AWS_KEY, "arc._domainkey.google.com")
    _, verdict = judge_mail(raw, keys)  # no trusted sealers configured
    assert verdict.authenticity is Authenticity.FAILED
    assert "arc-untrusted" in codes(verdict)


def test_arc_chain_that_does_not_verify_does_not_count() -> None:
    raw = _through_trusted_forwarder().replace(b"You received this", b"You were given this")
    _, verdict = judge_mail(raw, pinned(AWS_KEY, "arc._domainkey.google.com"), TRUSTING)
    assert verdict.authenticity is Authenticity.FAILED
    assert "arc-failed" in codes(verdict)


def test_results_from_an_untrusted_receiver_are_ignored() -> None:
    forged = b"Authentication-Results: mx.evil.example; dkim=pass header.d=amazon.com; dmarc=pass\r\n"
    unsigned = forged + fixture("compromised.eml")
    _, verdict = judge_mail(unsigned, pinned(AWS_KEY), TRUSTING)
    assert verdict.authenticity is Authenticity.UNVERIFIED
    assert "receiver-ignored" in codes(verdict)
    hostile = b"Authentication-Results: mx.evil.example; dmarc=fail header.from=amazon.com\r\n"
    _, signed_verdict = judge_mail(hostile + signed_notice(), pinned(AWS_KEY), TRUSTING)
    assert signed_verdict.authenticity is Authenticity.VERIFIED


def test_trusted_receiver_reporting_dmarc_fail_is_suspicious() -> None:
    header = (
        b"Authentication-Results: mx.google.com; dkim=none; spf=softfail smtp.mailfrom=amazon.com;"
        b" dmarc=fail (p=QUARANTINE) header.from=amazon.com\r\n"
    )
    _, verdict = judge_mail(header + fixture("compromised.eml"), pinned(AWS_KEY), TRUSTING)
    assert verdict.authenticity is Authenticity.SUSPICIOUS
    assert codes(verdict)[0] == "receiver-fail"
    assert "dmarc=fail" in verdict.reasons[0].en


def _dns(error: Exception | None, calls: list[str]) -> DnsKeys:
    def resolver(name: str, timeout: float) -> Sequence[bytes]:
        calls.append(name)
        if error is not None:
            raise error
        return [key_pair("main")[1]]

    return DnsKeys(timeout=0.5, resolver=resolver)


@pytest.mark.parametrize("error", [dns.resolver.NXDOMAIN(), dns.exception.Timeout(), dns.resolver.NoAnswer()])
def test_missing_dns_is_unverified_not_failed(error: Exception) -> None:
    calls: list[str] = []
    _, verdict = judge_mail(signed_notice(), _dns(error, calls))
    assert verdict.authenticity is Authenticity.UNVERIFIED
    assert codes(verdict) == ["dkim-no-key"]
    assert calls == ["s1._domainkey.amazon.com"]


def test_dns_answer_is_used_and_cached() -> None:
    calls: list[str] = []
    lookup = _dns(None, calls)
    for _ in range(3):
        _, verdict = judge_mail(signed_notice(), lookup)
        assert verdict.authenticity is Authenticity.VERIFIED
    assert calls == ["s1._domainkey.amazon.com"]
    assert "DNS" in verdict.reasons[0].en


def test_sns_scam_is_aws_other_and_nothing_is_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network used: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    calls: list[str] = []
    raw = sign(fixture("sns-scam.eml"), "sns.amazonaws.com")
    kind, verdict = judge_mail(raw, _dns(None, calls))
    assert kind == "aws-other"
    assert verdict.authenticity is Authenticity.VERIFIED
    assert "service-text" in codes(verdict)
    assert "deceptive-link" in codes(verdict)
    assert all("._domainkey." in name for name in calls)


def test_links_that_claim_aws_but_go_elsewhere_are_suspicious() -> None:
    _, verdict = judge_mail(fixture("link-phish.eml"), pinned(AWS_KEY))
    assert verdict.authenticity is Authenticity.SUSPICIOUS
    hosts = [reason.en for reason in verdict.reasons if reason.code == "deceptive-link"]
    assert len(hosts) == 2
    assert "console-aws.example.net" in hosts[0]
    assert "my-bucket.s3.amazonaws.com" in hosts[1] and "customer" in hosts[1]
    assert not any("aws.amazon.com/premiumsupport" in text for text in hosts)


def test_urgency_with_payment_bait_is_suspicious() -> None:
    _, verdict = judge_mail(fixture("bait.eml"), pinned(AWS_KEY))
    assert verdict.authenticity is Authenticity.SUSPICIOUS
    assert "bait" in codes(verdict)
    assert "緊急" in next(r.ja for r in verdict.reasons if r.code == "bait")


def test_extra_sender_domains_can_sign() -> None:
    raw = sign(fixture("compromised.eml").replace(b"@amazon.com", b"@aws.example.org"), "aws.example.org")
    config = Config(senders=SendersConfig(extra_domains=["aws.example.org"]))
    _, verdict = judge_mail(raw, pinned("s1._domainkey.aws.example.org"), config)
    assert verdict.authenticity is Authenticity.VERIFIED
    _, without = judge_mail(raw, pinned("s1._domainkey.aws.example.org"))
    assert without.authenticity is not Authenticity.VERIFIED


def test_real_aws_shape_with_amazon_and_amazonses_signatures_is_verified() -> None:
    raw = sign(sign(fixture("compromised.eml"), "amazon.com"), "amazonses.com", selector="ses")
    keys = pinned(AWS_KEY, "ses._domainkey.amazonses.com")
    _, verdict = judge_mail(raw, keys)
    assert verdict.authenticity is Authenticity.VERIFIED
    assert codes(verdict) == ["dkim-aligned", "dkim-not-allowed"]


def test_a_broken_extra_signature_does_not_undo_a_verified_one() -> None:
    raw = sign(signed_notice(), "lists.example.org", selector="list", label="attacker")
    _, verdict = judge_mail(raw, pinned(AWS_KEY, "list._domainkey.lists.example.org"))
    assert verdict.authenticity is Authenticity.VERIFIED
    assert "dkim-failed-headers" in codes(verdict)


def test_links_to_aws_brand_domains_are_not_deceptive() -> None:
    raw = fixture("compromised.eml").replace(
        b"https://console.aws.amazon.com/support/home",
        b"https://repost.aws/knowledge-center/potential-account-compromise",
    )
    _, verdict = judge_mail(raw, pinned(AWS_KEY))
    assert verdict.authenticity is Authenticity.UNVERIFIED
    assert codes(verdict) == ["no-signature"]
