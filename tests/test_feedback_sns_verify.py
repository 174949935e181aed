from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from noticedesk.config import SnsConfig
from noticedesk.errors import SnsRejected
from noticedesk.feedback.sns_verify import (
    MAX_CERT_BYTES,
    CertificateCache,
    SnsVerifier,
    fetch_certificate,
    string_to_sign,
    validate_certificate_url,
)
from tests.sns_signing import (
    CERT_URL,
    TOPIC,
    bounce,
    canonical,
    certificate_pem,
    confirmation,
    notification,
    seed_certificate,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
REAL_CLIENT = httpx.Client


class NoNetwork:
    """A fetcher that fails the test if called: pinning must reject before any I/O."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        raise AssertionError(f"network fetch attempted for {url}")


def verifier(tmp_path: Path, fetch: Any = None, **config: Any) -> SnsVerifier:
    seed_certificate(tmp_path)
    sns = SnsConfig(certificate_dir=tmp_path, allowed_topics=[TOPIC], **config)
    return SnsVerifier(sns, CertificateCache(tmp_path, fetch=fetch or NoNetwork()), lambda: NOW)


def body(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("subject", [None, "Amazon SES Email Event Notification"])
def test_notifications_verify_with_both_versions_with_and_without_subject(
    tmp_path: Path, version: str, subject: str | None
) -> None:
    message = notification(bounce("a@example.org", "fb-1"), NOW, version=version, subject=subject)
    assert verifier(tmp_path).verify(body(message))["MessageId"] == message["MessageId"]


@pytest.mark.parametrize("kind", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
@pytest.mark.parametrize("version", ["1", "2"])
def test_confirmations_verify(tmp_path: Path, kind: str, version: str) -> None:
    message = confirmation(NOW, kind, version)
    assert verifier(tmp_path).verify(body(message))["Token"] == message["Token"]


def test_string_to_sign_matches_the_independent_canonical_form() -> None:
    for message in (
        notification(bounce("a@example.org", "fb"), NOW, subject="With subject"),
        notification(bounce("a@example.org", "fb"), NOW),
        confirmation(NOW),
    ):
        assert string_to_sign(message) == canonical(message)
        assert string_to_sign(message).endswith(b"\n")


def test_subject_is_signed_when_present(tmp_path: Path) -> None:
    message = notification(bounce("a@example.org", "fb"), NOW, subject="original")
    with pytest.raises(SnsRejected, match="does not verify"):
        verifier(tmp_path).verify(body({**message, "Subject": "changed"}))
    without = {key: value for key, value in message.items() if key != "Subject"}
    with pytest.raises(SnsRejected, match="does not verify"):
        verifier(tmp_path).verify(body(without))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Message": "{}"}, "does not verify"),
        ({"SignatureVersion": "3"}, "SignatureVersion"),
        ({"SignatureVersion": "1"}, "does not verify"),  # signed as v2, claimed v1
        ({"TopicArn": "arn:aws:sns:us-east-1:999999999999:other"}, "allowed_topics"),
        ({"Timestamp": "2026-11-28T09:00:00.000Z"}, "stale"),
        ({"Timestamp": "2026-11-28T14:00:00.000Z"}, "stale"),
        ({"Type": "Other"}, "unknown Type"),
        ({"Signature": "%%%"}, "base64"),
        ({"SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-a.pem"}, "region"),
    ],
)
def test_tampered_messages_are_rejected(tmp_path: Path, change: dict[str, str], reason: str) -> None:
    message = notification(bounce("a@example.org", "fb"), NOW)
    with pytest.raises(SnsRejected, match=reason):
        verifier(tmp_path).verify(body({**message, **change}))


def test_not_json_and_missing_fields_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(SnsRejected, match="not JSON"):
        verifier(tmp_path).verify(b"\xff\xfe")
    message = notification(bounce("a@example.org", "fb"), NOW)
    del message["Signature"]
    with pytest.raises(SnsRejected, match="Signature missing"):
        verifier(tmp_path).verify(body(message))


def test_an_empty_allow_list_allows_nothing(tmp_path: Path) -> None:
    sns = SnsConfig(certificate_dir=tmp_path, allowed_topics=[])
    check = SnsVerifier(sns, CertificateCache(tmp_path, fetch=NoNetwork()), lambda: NOW)
    with pytest.raises(SnsRejected, match="allowed_topics"):
        check.verify(body(notification(bounce("a@example.org", "fb"), NOW)))


HOSTILE_URLS = [
    "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com.evil.tld/SimpleNotificationService-abc.pem",
    "https://evilsns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com.s3.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://s3.amazonaws.com/sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://evil-bucket.s3.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://attacker@sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem?x=1",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem#frag",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem\n",
    "https://sns.us-east-1.amazonaws.com\n.evil.tld/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem\t",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem\x7f",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem\x00",
    "https://sns.us-east-1.amazonaws.com/SimpleNotification Service-abc.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.crt",
    "https://sns.us-east-1.amazonaws.com/other/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-../../etc.pem",
    "https://sns.us-east-1.amazonaws.com/%2e%2e/SimpleNotificationService-abc.pem",
    "https://sns.us.amazonaws.com/SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amazonaws.com./SimpleNotificationService-abc.pem",
    "https://sns.us-east-1.amаzonaws.com/SimpleNotificationService-abc.pem",  # Cyrillic a
    "//sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    "",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_certificate_urls_are_rejected_without_network(tmp_path: Path, url: str) -> None:
    validate_certificate_url(CERT_URL)  # accepted URLs are cached: a refusal must never be
    for _ in range(2):
        with pytest.raises(SnsRejected):
            validate_certificate_url(url)
    fetch = NoNetwork()
    message = {**notification(bounce("a@example.org", "fb"), NOW), "SigningCertURL": url}
    with pytest.raises(SnsRejected):
        SnsVerifier(
            SnsConfig(allowed_topics=[TOPIC]), CertificateCache(None, fetch=fetch), lambda: NOW
        ).verify(body(message))
    assert fetch.calls == []


@pytest.mark.parametrize(
    "url", [None, 12, ["https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem"]]
)
def test_a_certificate_url_that_is_not_a_string_is_rejected(url: object) -> None:
    with pytest.raises(SnsRejected, match="not a plain URL"):
        validate_certificate_url(url)


@pytest.mark.parametrize(
    "url",
    [CERT_URL, "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc123.pem"],
)
def test_genuine_certificate_urls_pass(url: str) -> None:
    host, name = validate_certificate_url(url)
    assert host.startswith("sns.") and name.endswith(".pem")


def test_certificate_is_fetched_once_then_cached_in_memory_and_on_disk(tmp_path: Path) -> None:
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return certificate_pem()

    sns = SnsConfig(certificate_dir=tmp_path, allowed_topics=[TOPIC])
    check = SnsVerifier(sns, CertificateCache(tmp_path, fetch=fetch), lambda: NOW)
    for _ in range(3):
        check.verify(body(notification(bounce("a@example.org", "fb"), NOW)))
    assert calls == [CERT_URL]
    assert (tmp_path / "sns.us-east-1.amazonaws.com").is_dir()
    again = SnsVerifier(sns, CertificateCache(tmp_path, fetch=NoNetwork()), lambda: NOW)
    again.verify(body(notification(bounce("a@example.org", "fb"), NOW)))  # read from disk


def test_failed_fetch_is_remembered_only_briefly(tmp_path: Path) -> None:
    clock = [0.0]
    answers: list[bytes | None] = [None, certificate_pem()]

    def fetch(url: str) -> bytes:
        answer = answers.pop(0)
        if answer is None:
            raise SnsRejected("certificate not fetched: ConnectError")
        return answer

    cache = CertificateCache(None, fetch=fetch, failure_ttl_seconds=30, monotonic=lambda: clock[0])
    with pytest.raises(SnsRejected, match="ConnectError"):
        cache.public_key(CERT_URL, NOW)
    clock[0] = 10
    with pytest.raises(SnsRejected, match="ConnectError"):
        cache.public_key(CERT_URL, NOW)  # still the remembered failure, no new fetch
    clock[0] = 31
    assert cache.public_key(CERT_URL, NOW) is not None
    assert answers == []


def test_certificate_outside_its_validity_is_rejected(tmp_path: Path) -> None:
    seed_certificate(tmp_path, certificate_pem(datetime(2020, 1, 1, tzinfo=UTC), 30))
    cache = CertificateCache(tmp_path, fetch=NoNetwork())
    with pytest.raises(SnsRejected, match="validity"):
        cache.public_key(CERT_URL, NOW)


def test_garbage_certificate_is_rejected(tmp_path: Path) -> None:
    seed_certificate(tmp_path, b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(SnsRejected, match="PEM"):
        CertificateCache(tmp_path, fetch=NoNetwork()).public_key(CERT_URL, NOW)


def test_max_age_is_configurable(tmp_path: Path) -> None:
    message = notification(bounce("a@example.org", "fb"), NOW - timedelta(minutes=10))
    with pytest.raises(SnsRejected, match="stale"):
        verifier(tmp_path, max_age_seconds=300).verify(body(message))
    assert verifier(tmp_path, max_age_seconds=900).verify(body(message))


def mock_client(monkeypatch: pytest.MonkeyPatch, handler: Any) -> list[dict[str, Any]]:
    """Every httpx.Client the fetcher builds gets a mock transport; its options are recorded."""
    seen: list[dict[str, Any]] = []

    def build(**options: Any) -> httpx.Client:
        seen.append(options)
        return REAL_CLIENT(transport=httpx.MockTransport(handler), **options)

    monkeypatch.setattr("noticedesk.feedback.sns_verify.httpx.Client", build)
    return seen


def test_fetch_uses_tls_no_redirects_and_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = mock_client(monkeypatch, lambda request: httpx.Response(200, content=certificate_pem()))
    assert fetch_certificate(CERT_URL, 2.5) == certificate_pem()
    assert seen == [{"timeout": 2.5, "follow_redirects": False, "verify": True}]


def test_fetch_refuses_redirects_big_bodies_and_network_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    mock_client(
        monkeypatch, lambda request: httpx.Response(301, headers={"location": "http://169.254.169.254/"})
    )
    with pytest.raises(SnsRejected, match="HTTP 301"):
        fetch_certificate(CERT_URL, 1)
    mock_client(monkeypatch, lambda request: httpx.Response(200, content=b"x" * (MAX_CERT_BYTES + 1)))
    with pytest.raises(SnsRejected, match="size cap"):
        fetch_certificate(CERT_URL, 1)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    mock_client(monkeypatch, refuse)
    with pytest.raises(SnsRejected, match="ConnectTimeout"):
        fetch_certificate(CERT_URL, 1)


def test_memory_only_verification_asks_for_a_thread_when_the_certificate_is_cold(tmp_path: Path) -> None:
    from noticedesk.feedback.sns_verify import CertificateNotCached

    check = verifier(tmp_path)
    message = body(notification(bounce("a@example.org", "fb"), NOW))
    with pytest.raises(CertificateNotCached):
        check.verify(message, memory_only=True)
    check.verify(message)  # reads certificate_dir
    assert check.verify(message, memory_only=True)["Type"] == "Notification"


def test_a_field_folded_into_another_across_the_separator_is_rejected(tmp_path: Path) -> None:
    """MessageId "M1\\nSubject\\nS" without Subject signs the same bytes as M1 with Subject S."""
    check = verifier(tmp_path)
    signed = notification(bounce("a@example.org", "fb-fold"), NOW, subject="Amazon SES Email Event")
    check.verify(body(signed))
    replay = {key: value for key, value in signed.items() if key != "Subject"}
    replay["MessageId"] = f"{signed['MessageId']}\nSubject\n{signed['Subject']}"
    assert canonical(replay) == canonical(signed)  # the ambiguity: same bytes, same signature
    with pytest.raises(SnsRejected, match="MessageId holds a line break"):
        check.verify(body(replay))


@pytest.mark.parametrize("field", ["TopicArn", "Timestamp", "MessageId", "Subject"])
def test_no_signed_field_but_message_may_hold_a_line_break(field: str) -> None:
    message = {**notification(bounce("a@example.org", "fb-nl"), NOW), "Subject": "s"}
    message[field] += "\nx"
    with pytest.raises(SnsRejected, match=f"{field} holds a line break"):
        string_to_sign(message)


def test_a_message_spanning_lines_is_signed_unless_a_line_is_a_key(tmp_path: Path) -> None:
    check = verifier(tmp_path)
    check.verify(body(confirmation(NOW)))  # its Message text has a line break
    forged = {**notification(bounce("a@example.org", "fb-key"), NOW), "Subject": "s"}
    forged["Message"] += "\nMessageId\nM2"
    with pytest.raises(SnsRejected, match="Message holds a line break"):
        string_to_sign(forged)


def test_a_topic_with_a_newline_writes_one_escaped_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from noticedesk.feedback.verdicts import PolicySettings
    from noticedesk.feedback.webhook import SnsWebhook

    forged = "arn:aws:sns:us-east-1:111122223333:t\n2026-11-28 WARNING sns subscription confirmed\x1b[2K"
    webhook = SnsWebhook(None, verifier(tmp_path), lambda *_: None, PolicySettings(), lambda: NOW)  # type: ignore[arg-type]
    with caplog.at_level("WARNING", logger="noticedesk.feedback"):
        status, _ = webhook.handle(body(notification(bounce("a@example.org", "fb-log"), NOW, topic=forged)))
    assert status == 403
    (record,) = caplog.records
    assert "\n" not in record.getMessage() and "\x1b" not in record.getMessage()
    assert "\\n2026-11-28" in record.getMessage()


def test_a_field_holding_the_separator_is_refused_before_any_fetch(tmp_path: Path) -> None:
    sns = SnsConfig(allowed_topics=[TOPIC])
    network = NoNetwork()
    check = SnsVerifier(sns, CertificateCache(None, fetch=network), lambda: NOW)
    message = notification(bounce("a@example.org", "fb-early"), NOW)
    message["MessageId"] += "\nSubject\nx"
    with pytest.raises(SnsRejected, match="MessageId holds a line break"):
        check.verify(body(message))
    assert network.calls == []
