"""Each channel against a real receiver: Slack's and Teams' webhook shapes over HTTP, e-mail to a
real SMTP server with STARTTLS or implicit TLS and AUTH, threaded per case; the message catalogue
in both languages."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import re
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine

from noticedesk.accounts.registry import Account, save_account
from noticedesk.config import NotifyConfig
from noticedesk.errors import DeliveryError
from noticedesk.notify.channels.email import EmailChannel
from noticedesk.notify.channels.slack import SlackChannel
from noticedesk.notify.channels.teams import TeamsChannel
from noticedesk.notify.events import KINDS, Event
from noticedesk.notify.messages import catalogue, entry_name, render
from noticedesk.notify.outbox import enqueue
from noticedesk.notify.sending import Sender
from tests.notify_helpers import SMTP_PASSWORD, SMTP_USER, receiver, smtp_sink

ACCOUNT = "123456789012"
FACTS = {
    "case_kind": "account-compromised",
    "title": "Your AWS account may be compromised",
    "stage": "notice",
    "deadline_label": "reply_by",
}


def _message(now: datetime, kind: str = "case.opened", language: str = "en", **facts: str):  # type: ignore[no-untyped-def]
    merged = {**FACTS, "account_name": "Prod", "deadline": (now + timedelta(hours=2)).isoformat(), **facts}
    return render(kind, merged, language=language, now=now, case_id="42", account_id=ACCOUNT, delivery_id="7")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_kind_reads_whole_in_both_languages(kind: str, language: str, now: datetime) -> None:
    facts = {
        name: f"<{name}>" for name in re.findall(r"\{(\w+)\}", json.dumps(catalogue()[entry_name(kind, {})]))
    }
    facts |= {"deadline": (now + timedelta(hours=12)).isoformat(), "deadline_label": "reply_by"}
    message = render(kind, facts, language=language, now=now, case_id="42", account_id=ACCOUNT)
    text = message.text
    assert "{" not in text and " - " not in message.title
    assert message.command.startswith("noticedesk ")
    if language == "ja":
        assert re.search(r"[\u3040-\u30ff]", text), "no Japanese in the Japanese message"


def test_a_stage_change_to_resolved_has_its_own_message(now: datetime) -> None:
    message = _message(now, "case.stage", stage="resolved", previous_stage="notice")
    assert message.title == "case 42 resolved: Prod (123456789012)"


def test_the_japanese_message_counts_the_time_left_in_japanese(now: datetime) -> None:
    message = _message(now, "deadline.approaching", language="ja")
    assert message.time_left == "あと 2 時間 00 分"
    assert "回答期限" in message.title and "日本時間" in message.what


def test_slack_gets_block_kit(now: datetime) -> None:
    with receiver() as hook:
        SlackChannel("ops", hook.url + "/services/T/B/x").send(_message(now, title="<!channel> & co"))
        (request,) = hook.requests
    payload = json.loads(request.body)
    assert payload["text"].startswith("Case 42 opened")
    assert [block["type"] for block in payload["blocks"]] == ["header", "section", "section", "context"]
    assert (
        "&lt;!channel&gt; &amp; co" in payload["blocks"][1]["text"]["text"]
    )  # no @channel ping from a subject
    assert "2 h 00 min left" in json.dumps(payload["blocks"][2])
    assert "`noticedesk case show 42`" in payload["blocks"][3]["elements"][0]["text"]


def test_teams_gets_an_adaptive_card(now: datetime) -> None:
    with receiver([202]) as hook:
        TeamsChannel("teams", hook.url + "/workflows/x").send(_message(now))
        (request,) = hook.requests
    payload = json.loads(request.body)
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"].startswith("Case 42 opened")
    assert card["body"][-1]["text"] == "noticedesk case show 42"


def _parsed(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_email_is_sent_over_tls_with_auth_threaded_per_case(
    security: str, tmp_path: Path, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="noticedesk")
    with smtp_sink(tmp_path, security=security) as sink:
        channel = EmailChannel(
            "mail", "127.0.0.1", sink.port, "NoticeDesk <noticedesk@example.com>", ("ops@example.com",),
            security, SMTP_USER, SMTP_PASSWORD, True, sink.ca_file,
        )  # fmt: skip
        opened = _message(now)
        channel.send(replace(opened, contacts=("owner@example.jp",)))
        channel.send(_message(now, "case.stage", stage="reminder", previous_stage="notice"))
    assert sink.logins == [SMTP_USER, SMTP_USER]
    (first_to, first_raw), (_, second_raw) = sink.mails
    assert first_to == ["ops@example.com", "owner@example.jp"]
    first, second = _parsed(first_raw), _parsed(second_raw)
    assert first["Message-ID"] == "<case-42.noticedesk@example.com>"
    assert second["In-Reply-To"] == first["Message-ID"] == second["References"]
    assert (
        str(first["Subject"]).strip()
        == "[NoticeDesk] Case 42 opened: account-compromised for Prod (123456789012)"
    )
    text = first.get_body(("plain",))
    html = first.get_body(("html",))
    assert text is not None and html is not None
    assert "noticedesk case show 42" in text.get_content()
    assert "<code>noticedesk case show 42</code>" in html.get_content()
    assert SMTP_PASSWORD not in caplog.text


def test_a_wrong_smtp_password_fails_for_good_without_showing_it(tmp_path: Path, now: datetime) -> None:
    with smtp_sink(tmp_path, security="starttls") as sink:
        channel = EmailChannel(
            "mail", "127.0.0.1", sink.port, "noticedesk@example.com", ("ops@example.com",),
            "starttls", SMTP_USER, "wrong-password-xyz", True, sink.ca_file,
        )  # fmt: skip
        with pytest.raises(DeliveryError) as failure:
            channel.send(_message(now))
    assert failure.value.permanent and "login refused" in str(failure.value)
    assert "wrong-password-xyz" not in str(failure.value) and "wrong-password-xyz" not in repr(channel)
    assert sink.mails == []


def test_an_untrusted_certificate_is_refused(tmp_path: Path, now: datetime) -> None:
    with smtp_sink(tmp_path, security="tls") as sink:
        channel = EmailChannel(
            "mail", "127.0.0.1", sink.port, "noticedesk@example.com", ("ops@example.com",), "tls",
            SMTP_USER, SMTP_PASSWORD,
        )  # fmt: skip
        with pytest.raises(DeliveryError, match="TLS failed"):
            channel.send(_message(now))
    assert sink.mails == []


def test_the_outbox_sends_email_with_the_password_from_a_file(
    engine: Engine, tmp_path: Path, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "smtp-password").write_text(SMTP_PASSWORD + "\n")
    with engine.begin() as conn:
        save_account(conn, Account(ACCOUNT, "Prod", contacts=("owner@example.jp",), language="ja"), now=now)
        enqueue(conn, Event("case.opened", "42", ACCOUNT, "case-opened:42", FACTS), now=now)
    with smtp_sink(tmp_path, security="starttls") as sink:
        config = NotifyConfig.model_validate(
            {
                "channels": {
                    "default": {
                        "type": "email",
                        "host": "127.0.0.1",
                        "port": sink.port,
                        "sender": "noticedesk@example.com",
                        "username": SMTP_USER,
                        "password": {"file": str(tmp_path / "smtp-password")},
                        "ca_file": str(sink.ca_file),
                    }
                }
            }
        )
        report = Sender(engine, config).send_due(now)
    assert len(report.sent) == 1
    ((recipients, raw),) = sink.mails
    assert recipients == ["owner@example.jp"]
    assert "新しいケース" in str(_parsed(raw)["Subject"])


def test_a_subject_cannot_break_headers_nor_become_a_teams_link(tmp_path: Path, now: datetime) -> None:
    hostile = "Urgent\r\nBcc: victim@example.com [Sign in](https://evil.example)"
    message = _message(now, "notice.suspicious", subject=hostile, sender="x@evil.example", reasons="r")
    hostile_title = replace(message, title=hostile)
    channel = EmailChannel("mail", "127.0.0.1", 25, "noticedesk@example.com", ("ops@example.com",), "none")
    mail = channel.compose(hostile_title)
    assert mail["Bcc"] is None and "\n" not in str(mail["Subject"])
    with receiver([202]) as hook:
        TeamsChannel("teams", hook.url).send(hostile_title)
        body = json.loads(hook.requests[0].body)["attachments"][0]["content"]["body"]
    assert "](https://evil" not in json.dumps(body, ensure_ascii=False)


def test_a_password_is_never_configured_without_tls() -> None:
    with pytest.raises(ValueError, match="a password is not sent in clear"):
        NotifyConfig.model_validate(
            {
                "channels": {
                    "mail": {
                        "type": "email",
                        "host": "smtp.example.com",
                        "security": "none",
                        "username": "u",
                        "password": {"env": "P"},
                        "sender": "n@example.com",
                    }
                }
            }
        )


def test_a_channel_keeps_one_connection_open_across_sends_until_closed(now: datetime) -> None:
    """One HTTP client per channel: three sends over one kept-alive connection (an HTTP/1.1
    receiver that sees which client port each request came from); closing the Sender closes it,
    and the channel still sends afterwards, over a new connection."""
    ports: list[int] = []

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ports.append(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    slack = SlackChannel("ops", url)
    sender = Sender(None, NotifyConfig(), channels={"ops": slack, "default": slack})  # type: ignore[arg-type]
    try:
        for _ in range(3):
            slack.send(_message(now))
        assert len(ports) == 3 and len(set(ports)) == 1
        sender.close()
        slack.send(_message(now))
        assert len(ports) == 4 and ports[3] != ports[0]
    finally:
        sender.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
