"""End to end on real protocols: a mail APPENDed to Dovecot becomes a case, and within seconds a
Slack-shaped webhook POST and an SMTP message (aiosmtpd, STARTTLS, AUTH) tell the account's people;
AWS's reminder for it moves the stage and the deadline, and they hear again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from noticedesk.accounts.registry import Account, save_account
from noticedesk.clock import utc_now
from noticedesk.config import Config, ImapConfig, NotifyConfig, WatchConfig
from noticedesk.store.tables import cases
from noticedesk.watch.build import build_watcher
from tests.dovecot import PASSWORD, Dovecot, running_dovecot
from tests.notify_helpers import SMTP_PASSWORD, SMTP_USER, Receiver, SmtpSink, receiver, smtp_sink
from tests.watch_helpers import abuse_reminder, abuse_report

ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def channels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Receiver, SmtpSink]]:
    with receiver() as slack, smtp_sink(tmp_path, security="starttls") as sink:
        monkeypatch.setenv("ND_SLACK_URL", slack.url + "/services/T000/B000/XXXX")
        monkeypatch.setenv("ND_SMTP_PASSWORD", SMTP_PASSWORD)
        monkeypatch.setenv("ND_IMAP_PASSWORD", PASSWORD)
        yield slack, sink


def config(dovecot: Dovecot, user: str, sink: SmtpSink) -> Config:
    notify = NotifyConfig.model_validate(
        {
            "channels": {
                "ops-slack": {"type": "slack", "url": {"env": "ND_SLACK_URL"}},
                "ops-mail": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": sink.port,
                    "security": "starttls",
                    "username": SMTP_USER,
                    "password": {"env": "ND_SMTP_PASSWORD"},
                    "sender": "NoticeDesk <noticedesk@example.com>",
                    "to": ["ops@example.com"],
                    "ca_file": str(sink.ca_file),
                },
            }
        }
    )
    imap = ImapConfig(
        host="127.0.0.1",
        port=dovecot.imaps_port,
        username=user,
        password_env="ND_IMAP_PASSWORD",
        ca_file=dovecot.ca_file,
        processed_folder="Filed",
    )
    return Config(watch=WatchConfig(imap=imap), notify=notify)


def posts(slack: Receiver, words: str) -> list[str]:
    texts = [json.dumps(json.loads(request.body), ensure_ascii=False) for request in slack.delivered]
    return [text for text in texts if words in text]


def mails(sink: SmtpSink, words: str) -> list[str]:
    subjects = [str(message_from_bytes(raw, policy=policy.default)["Subject"]) for _, raw in sink.mails]
    return [subject for subject in subjects if words in subject]


def deadline_posts(slack: Receiver) -> list[str]:
    texts = [json.dumps(json.loads(request.body), ensure_ascii=False) for request in slack.delivered]
    return [text for text in texts if "to the reply-by time" in text]


def deadline_mails(sink: SmtpSink) -> list[str]:
    subjects = [str(message_from_bytes(raw, policy=policy.default)["Subject"]) for _, raw in sink.mails]
    return [subject for subject in subjects if "reply-by time" in subject]


def test_appended_mail_to_slack_and_smtp_within_seconds_and_again_after_the_reminder(
    engine: Engine, dovecot: Dovecot, channels: tuple[Receiver, SmtpSink]
) -> None:
    slack, sink = channels
    user = dovecot.add_user()
    with engine.begin() as connection:
        account = Account(ACCOUNT, "Prod", ("owner@example.jp",), "en", ("ops-slack", "ops-mail"))
        save_account(connection, account, now=utc_now())
    watcher = build_watcher(engine, config(dovecot, user, sink), utc_now)
    try:
        assert watcher.warm_up is not None
        watcher.warm_up()  # as `run` does at start
        watcher.run_once()  # connected; nothing yet
        # Sent 13 hours ago, "reply within 24 hours": 11 hours left as it is filed.
        sent = (datetime.now(UTC) - timedelta(hours=13)).replace(tzinfo=None)
        appended = time.monotonic()
        dovecot.append(user, abuse_report(700, sent=sent))
        while time.monotonic() - appended < 10 and not (deadline_posts(slack) and deadline_mails(sink)):
            watcher.run_once()
            time.sleep(0.05)
        took = time.monotonic() - appended
        assert deadline_posts(slack) and deadline_mails(sink), "no notification within 10 s"
        assert took < 5
        with engine.connect() as connection:
            stage, first_reply_by = connection.execute(select(cases.c.stage, cases.c.reply_by)).one()
        assert stage == "notice"
        (post,) = deadline_posts(slack)
        assert '"blocks"' in post and "Prod" in post and "noticedesk reply" in post
        assert sink.mails[0][0] == ["ops@example.com", "owner@example.jp"]  # the owner hears too
        # The case's opening, too: the Slack message and the first mail of its thread.
        assert len(posts(slack, " opened: abuse-report for Prod")) == 1 and len(mails(sink, " opened: ")) == 1
        assert sink.logins and set(sink.logins) == {SMTP_USER}
        # AWS's reminder, half an hour later: the stage moves, so does the reply-by, and they hear again.
        dovecot.append(user, abuse_reminder(700, sent=sent + timedelta(minutes=30)))
        again = time.monotonic()
        while time.monotonic() - again < 10 and len(deadline_posts(slack)) < 2:
            watcher.run_once()
            time.sleep(0.05)
        with engine.connect() as connection:
            stage, reply_by = connection.execute(select(cases.c.stage, cases.c.reply_by)).one()
        assert stage == "reminder" and reply_by != first_reply_by
        assert len(deadline_posts(slack)) == 2 and len(deadline_mails(sink)) == 2
        assert len(posts(slack, "moved to reminder")) == 1 and len(mails(sink, "moved to reminder")) == 1
        # Passes go on: nothing is sent twice.
        count = (len(slack.requests), len(sink.mails))
        for _ in range(5):
            watcher.run_once()
        assert (len(slack.requests), len(sink.mails)) == count
    finally:
        watcher.close()
