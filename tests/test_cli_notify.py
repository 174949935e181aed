"""``noticedesk notify test|retry|send`` and ``noticedesk notifications`` with a real receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from noticedesk.accounts.registry import Account, save_account
from noticedesk.cli import App, cli
from noticedesk.config import Config
from noticedesk.notify.events import Event
from noticedesk.notify.outbox import enqueue
from tests.notify_helpers import receiver
from tests.triage_helpers import MAILS

ACCOUNT = "123456789012"


def _app(engine: Engine, now: datetime, *, max_tries: int = 1) -> App:
    config = Config.model_validate(
        {
            "notify": {
                "max_tries": max_tries,
                "channels": {
                    "ops": {"type": "slack", "url": {"env": "OPS_SLACK_URL"}},
                    "default": {"type": "webhook", "url": {"env": "HOOK_URL"}, "secret": {"env": "HOOK_KEY"}},
                },
            }
        }
    )
    app = App(db_url=engine.url.render_as_string(), config=config, now=lambda: now, _engine=engine)
    app.console.width = 220
    return app


def _run(app: App, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), obj=app)
    return result.exit_code, result.output


def test_notify_test_sends_to_the_channel_and_says_when_it_cannot(
    sqlite_engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(sqlite_engine, now)
    code, out = _run(app, "notify", "test", "ops")
    assert code == 2 and "OPS_SLACK_URL is not set" in out
    with receiver([500]) as hook:
        monkeypatch.setenv("OPS_SLACK_URL", hook.url + "/services/secret-part")
        code, out = _run(app, "notify", "test", "ops")
        assert code == 1 and "HTTP 500" in out and "secret-part" not in out
        assert _run(app, "notify", "test", "ops", "--lang", "ja") == (0, "sent a test message to ops\n")
        assert "テスト" in json.loads(hook.requests[-1].body)["text"]
    code, out = _run(app, "notify", "test", "nowhere")
    assert code == 2 and "no channel 'nowhere'" in out


def test_failed_notifications_are_listed_and_retried(
    engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(engine, now)
    with engine.begin() as conn:
        save_account(conn, Account(ACCOUNT, "Prod"), now=now)
        enqueue(
            conn, Event("case.opened", "7", ACCOUNT, "case-opened:7", {"case_kind": "abuse-report"}), now=now
        )
    monkeypatch.setenv("HOOK_KEY", "k")
    monkeypatch.setenv("OPS_SLACK_URL", "http://127.0.0.1:9/unused")
    with receiver([503]) as hook:
        monkeypatch.setenv("HOOK_URL", hook.url)
        code, out = _run(app, "notify", "send")
        assert (code, out) == (1, "0 sent, 0 to retry, 1 failed\n")
        code, out = _run(app, "notifications", "--failed", "--json")
        (row,) = [json.loads(line) for line in out.splitlines()]
        assert (row["status"], row["account_name"], row["channel"]) == ("failed", "Prod", "default")
        assert "HTTP 503" in row["last_error"]
        code, out = _run(app, "notifications", "--failed")
        assert "Prod (123456789012)" in out and "failed" in out
        code, out = _run(app, "notify", "retry", str(row["id"]))
        assert code == 0 and "due again" in out
        assert _run(app, "notify", "send") == (0, "1 sent, 0 to retry, 0 failed\n")
        assert len(hook.delivered) == 1
    assert _run(app, "notifications", "--failed") == (0, "no failed notifications\n")
    code, out = _run(app, "notify", "retry", str(row["id"]))
    assert code == 2 and "nothing to retry" in out
    code, out = _run(app, "notify", "retry", "999")
    assert code == 2 and "no notification 999" in out


def test_real_processes_triage_queues_and_notify_send_delivers(
    tmp_path: Path, postgres_engine: Engine
) -> None:
    """`python -m noticedesk` on PostgreSQL: [[accounts]] routes a triaged notice to a signed webhook
    in Japanese; the secret and the URL's token appear in no output."""
    with receiver() as hook:
        config = tmp_path / "noticedesk.toml"
        config.write_text(
            "[notify.channels.team]\n"
            'type = "webhook"\nurl = { env = "TEAM_HOOK_URL" }\nsecret = { file = "'
            + str(tmp_path / "hook-secret")
            + '" }\n\n[[accounts]]\nid = "111122223333"\nname = "Shop"\n'
            + 'language = "ja"\nchannels = ["team"]\n'
        )
        (tmp_path / "hook-secret").write_text("s3cr3t-hmac-key\n")
        env = {**os.environ, "TEAM_HOOK_URL": hook.url + "/in/tok-abc123", "NOTICEDESK_CONFIG": str(config)}
        db = postgres_engine.url.render_as_string(hide_password=False)

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "noticedesk", "--db", db, *args]
            return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)

        assert run("triage", str(MAILS / "abuse-subject-portscan.eml")).returncode == 0
        sent = run("notify", "send")
        assert (sent.returncode, sent.stdout) == (0, "1 sent, 0 to retry, 0 failed\n")
        listed = run("notifications", "--json")
        (request,) = hook.delivered
    payload = json.loads(request.body)
    assert payload["account"] == "Shop (111122223333)" and payload["kind"] == "case.opened"
    assert "新しいケース" in payload["title"]
    expected = hmac.new(
        b"s3cr3t-hmac-key",
        request.headers["X-NoticeDesk-Timestamp"].encode() + b"." + request.body,
        hashlib.sha256,
    ).hexdigest()
    assert request.headers["X-NoticeDesk-Signature"] == f"v1={expected}"
    assert json.loads(listed.stdout)["status"] == "sent"
    for output in (sent.stdout, sent.stderr, listed.stdout, listed.stderr):
        assert "tok-abc123" not in output and "s3cr3t" not in output
