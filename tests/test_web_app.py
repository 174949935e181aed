from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.stub import Stubber
from sqlalchemy import Engine, func, select

from noticedesk.aws.clients import ClientFactory
from noticedesk.config import Config, SnsConfig, WebConfig
from noticedesk.feedback.webhook import sns_confirmer
from noticedesk.store.tables import ses_events, ses_feedback_messages
from noticedesk.web.app import MAX_SNS_BODY, create_app
from tests.live_server import running
from tests.sns_signing import TOPIC, bounce, confirmation, notification, seed_certificate

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TOKEN = "machine-token-for-tests"
AUTH = {"authorization": f"Bearer {TOKEN}"}


class Confirmations:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, topic: str, token: str) -> None:
        self.calls.append((topic, token))


@pytest.fixture
def confirmations() -> Confirmations:
    return Confirmations()


@pytest.fixture
def server(engine: Engine, tmp_path: Path, confirmations: Confirmations) -> Iterator[str]:
    """The real server over the store of ``engine``: every webhook test runs on SQLite and PostgreSQL."""
    seed_certificate(tmp_path)
    config = Config(
        sns=SnsConfig(certificate_dir=tmp_path, allowed_topics=[TOPIC]), web=WebConfig(api_tokens=[TOKEN])
    )
    app = create_app(engine, config, clock=lambda: NOW, confirm=confirmations)
    with running(app) as url:
        yield url


def post(url: str, message: dict[str, Any]) -> httpx.Response:
    headers = {"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": message["Type"]}
    return httpx.post(f"{url}/webhooks/sns", content=json.dumps(message), headers=headers)


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_notification_is_stored_once_and_answers_the_api(
    server: str, engine: Engine, version: str
) -> None:
    message = notification(bounce("Nobody@Example.org", "fb-web-1"), NOW, version=version, subject="Bounce")
    first = post(server, message)
    assert first.status_code == 200 and first.json() == {"events": 1, "duplicate": False}
    again = post(server, message)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert count(engine, ses_events) == 1 and count(engine, ses_feedback_messages) == 1
    answer = httpx.get(f"{server}/api/ses/suppressed/NOBODY@example.ORG", headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["suppressed"] is True and answer.json()["reason"] == "BOUNCE"
    unknown = httpx.get(f"{server}/api/ses/suppressed/someone@example.org", headers=AUTH).json()
    assert unknown == {"address": "someone@example.org", "suppressed": False, "known": False}


def test_api_refuses_what_is_not_an_address(server: str) -> None:
    assert httpx.get(f"{server}/api/ses/suppressed/not-an-address", headers=AUTH).status_code == 400
    # A control character is no part of an address (and PostgreSQL would refuse a NUL in the query).
    for odd in ("a%00b@example.org", "a%07b@example.org", "a%7Fb@example.org"):
        response = httpx.get(f"{server}/api/ses/suppressed/{odd}", headers=AUTH)
        assert response.status_code == 400 and response.json() == {"error": "not an e-mail address"}


@pytest.mark.parametrize(
    "change",
    [
        {"Message": json.dumps(bounce("victim@example.org", "forged"))},
        {"TopicArn": "arn:aws:sns:us-east-1:999999999999:other"},
        {"SigningCertURL": "https://sns.us-east-1.amazonaws.com.evil.tld/SimpleNotificationService-a.pem"},
        {"Timestamp": "2026-11-27T12:00:00.000Z"},
    ],
)
def test_anything_unproven_gets_403_a_log_line_and_nothing_stored(
    server: str, engine: Engine, change: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    message = {**notification(bounce("a@example.org", "fb-web-2"), NOW), **change}
    with caplog.at_level(logging.WARNING, logger="noticedesk.feedback.webhook"):
        response = post(server, message)
    assert response.status_code == 403
    assert count(engine, ses_events) == 0 and count(engine, ses_feedback_messages) == 0
    assert any("sns webhook rejected" in record.getMessage() for record in caplog.records)


def test_a_failed_commit_answers_500_so_sns_delivers_again(
    server: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noticedesk.feedback import writer

    real_ingest = writer.ingest

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk full")

    message = notification(bounce("a@example.org", "fb-web-3"), NOW)
    monkeypatch.setattr(writer, "ingest", broken)
    for _ in range(2):  # the first loads the certificate (worker thread), the second finds it in memory
        response = post(server, message)
        assert response.status_code == 500 and response.json() == {"error": "not stored"}
    assert count(engine, ses_events) == 0 and count(engine, ses_feedback_messages) == 0
    monkeypatch.setattr(writer, "ingest", real_ingest)
    again = post(server, message)  # SNS's redelivery
    assert again.status_code == 200 and again.json() == {"events": 1, "duplicate": False}
    assert count(engine, ses_events) == 1


def test_a_body_sent_in_chunks_is_read_whole(server: str, engine: Engine) -> None:
    raw = json.dumps(notification(bounce("chunked@example.org", "fb-web-4"), NOW)).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(raw), 100):
            yield raw[start : start + 100]

    response = httpx.post(f"{server}/webhooks/sns", content=pieces(), headers={"content-type": "text/plain"})
    assert response.status_code == 200 and response.json() == {"events": 1, "duplicate": False}
    assert count(engine, ses_events) == 1


def test_the_webhook_answers_only_post(server: str) -> None:
    assert httpx.get(f"{server}/webhooks/sns").status_code == 405


def test_raw_garbage_is_403(server: str) -> None:
    response = httpx.post(
        f"{server}/webhooks/sns", content=b"\x00\x01", headers={"content-type": "application/json"}
    )
    assert response.status_code == 403


def test_subscription_is_confirmed_through_the_api_only_after_verification(
    server: str, confirmations: Confirmations
) -> None:
    forged = {**confirmation(NOW), "Token": "attacker"}
    assert post(server, forged).status_code == 403
    assert confirmations.calls == []
    message = confirmation(NOW)
    assert post(server, message).status_code == 200
    assert confirmations.calls == [(TOPIC, message["Token"])]


def test_unsubscribe_confirmation_is_not_followed(server: str, confirmations: Confirmations) -> None:
    assert post(server, confirmation(NOW, "UnsubscribeConfirmation")).status_code == 200
    assert confirmations.calls == []


def test_confirmer_calls_confirm_subscription_with_authenticate_on_unsubscribe() -> None:
    factory = ClientFactory()
    client = factory.client("sns", "us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "confirm_subscription",
            {"SubscriptionArn": f"{TOPIC}:1"},
            {"TopicArn": TOPIC, "Token": "tok", "AuthenticateOnUnsubscribe": "true"},
        )
        sns_confirmer(factory)(TOPIC, "tok")
        stub.assert_no_pending_responses()


def test_a_failed_confirmation_answers_502_so_sns_tries_again(sqlite_engine: Engine, tmp_path: Path) -> None:
    from botocore.exceptions import ClientError

    def refuse(topic: str, token: str) -> None:
        raise ClientError({"Error": {"Code": "AuthorizationError", "Message": "no"}}, "ConfirmSubscription")

    seed_certificate(tmp_path)
    config = Config(sns=SnsConfig(certificate_dir=tmp_path, allowed_topics=[TOPIC]))
    with running(create_app(sqlite_engine, config, clock=lambda: NOW, confirm=refuse)) as url:
        assert post(url, confirmation(NOW)).status_code == 502


def test_with_api_tokens_the_api_answers_only_a_caller_with_one(sqlite_engine: Engine) -> None:
    from noticedesk.config import WebConfig

    config = Config(web=WebConfig(api_tokens=["s3cret-token"]))
    with running(create_app(sqlite_engine, config, clock=lambda: NOW)) as url:
        address = f"{url}/api/ses/suppressed/someone@example.org"
        assert httpx.get(address).status_code == 401
        assert httpx.get(address, headers={"authorization": "Bearer wrong"}).status_code == 401
        allowed = httpx.get(address, headers={"authorization": "Bearer s3cret-token"})
        assert allowed.status_code == 200 and allowed.json()["suppressed"] is False


def test_serving_beyond_loopback_without_tokens_is_refused() -> None:
    from noticedesk.errors import ConfigError
    from noticedesk.web.server import serve

    with pytest.raises(ConfigError, match="api_tokens"):
        serve("sqlite:///unused.db", Config(), "0.0.0.0", 8000)


@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
def test_a_body_over_the_cap_is_413_and_nothing_is_stored(
    server: str, engine: Engine, chunked: bool, caplog: pytest.LogCaptureFixture
) -> None:
    message = notification(bounce("huge@example.org", "fb-web-huge"), NOW)
    message["Padding"] = "x" * MAX_SNS_BODY  # a signed message made too large to be from SNS
    raw = json.dumps(message).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    with caplog.at_level(logging.WARNING):
        response = httpx.post(
            f"{server}/webhooks/sns",
            content=pieces() if chunked else raw,
            headers={"content-type": "text/plain"},
        )
    assert response.status_code == 413 and "not an SNS message" in response.json()["error"]
    assert "sns webhook body refused" in caplog.text
    assert count(engine, ses_feedback_messages) == 0 and count(engine, ses_events) == 0
    # The cap is on size alone: the same message at its real size is taken.
    del message["Padding"]
    assert post(server, message).status_code == 200 and count(engine, ses_events) == 1


def test_the_root_page_asks_for_a_login_and_the_webhook_does_not(server: str) -> None:
    page = httpx.get(f"{server}/")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
    assert "set-cookie" not in post(server, confirmation(NOW)).headers  # the webhook: no session


def test_serve_says_where_it_listens_and_warns_when_no_topic_is_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from noticedesk.web import server

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda _app, **options: started.append(options))
    lines: list[str] = []
    server.serve(f"sqlite:///{tmp_path / 'n.db'}", Config(), "127.0.0.1", 8123, announce=lines.append)
    assert started and started[0]["port"] == 8123
    assert lines[0] == "NoticeDesk serves on http://127.0.0.1:8123 (Ctrl+C stops it):"
    assert (
        "SNS webhook at http://127.0.0.1:8123/webhooks/sns (POST), topics allowed: 0 — every message "
        "will be refused until [sns] allowed_topics is set"
    ) in lines[1]
    allowed = Config(sns=SnsConfig(allowed_topics=[TOPIC]))
    lines.clear()
    server.serve(f"sqlite:///{tmp_path / 'n.db'}", allowed, "::1", 8123, announce=lines.append)
    assert "http://[::1]:8123/webhooks/sns (POST), topics allowed: 1" in lines[1]
    assert "refused" not in lines[1]
