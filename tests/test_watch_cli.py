"""``noticedesk watch`` as a process: Dovecot in, webhooks out, SIGTERM and ``kill -9`` mid-batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from noticedesk.store.db import make_engine
from noticedesk.store.tables import cases, messages
from tests.dovecot import Dovecot, running_dovecot
from tests.notify_helpers import Receiver, receiver
from tests.watch_helpers import abuse_report

MAILS = 80


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as server:
        yield server


def write_config(tmp_path: Path, dovecot: Dovecot, user: str, hook: Receiver, **watch: object) -> Path:
    settings = {"batch_size": 5, "poll_seconds": 1, "clock_seconds": 1, **watch}
    lines = "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    config = tmp_path / "noticedesk.toml"
    config.write_text(
        f"""
[watch]
{lines}

[watch.imap]
host = "127.0.0.1"
port = {dovecot.imaps_port}
username = "{user}"
password_env = "ND_IMAP_PASSWORD"
ca_file = "{dovecot.ca_file}"
processed_folder = "Filed"

[notify.channels.default]
type = "webhook"
url = {{ env = "ND_HOOK_URL" }}
secret = {{ env = "ND_HOOK_SECRET" }}
"""
    )
    return config


def start(db: str, config: Path, hook: Receiver, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ND_IMAP_PASSWORD": "secret-pass-1",
        "ND_HOOK_URL": hook.url + "/hook",
        "ND_HOOK_SECRET": "whsec-e2e",
    }
    command = [sys.executable, "-m", "noticedesk", "--db", db, "--config", str(config), "watch", *extra]
    with log.open("ab") as stderr:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def filed(engine: Engine) -> int:
    """Messages in the store (0 while the watcher is still creating it)."""
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(messages)).scalar_one())
    except SQLAlchemyError:
        return 0


def log_events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def inbox_size(dovecot: Dovecot, user: str, folder: str = "INBOX") -> int:
    client = dovecot.client(user)
    try:
        return int(client.select_folder(folder, readonly=True)[b"EXISTS"])
    finally:
        client.logout()


def test_kill_9_in_the_middle_of_a_batch_then_restart_files_and_notifies_each_once(
    dovecot: Dovecot, hook: Receiver, tmp_path: Path
) -> None:
    user = dovecot.add_user()
    # Sent 13 hours ago with "reply within 24 hours": each case is 11 hours from its reply-by and
    # enforcement times, past the 12-hour warning: two notifications a case.
    sent = (datetime.now(UTC) - timedelta(hours=13)).replace(tzinfo=None)
    dovecot.append(user, *(abuse_report(number, sent=sent) for number in range(MAILS)))
    db = f"sqlite:///{tmp_path / 'noticedesk.db'}"
    engine = make_engine(db)
    config = write_config(tmp_path, dovecot, user, hook)
    log = tmp_path / "watch.log"

    first = start(db, config, hook, log, "--log-format", "json")
    wait_for(lambda: filed(engine) >= 12, 60, "the first batches")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert filed(engine) < MAILS, "the watcher was done before it could be killed"
    second = start(db, config, hook, log, "--log-format", "json")
    expected = 3 * MAILS  # case.opened, and the 12-hour warnings of reply-by and enforcement
    wait_for(
        lambda: len({r.headers.get("X-NoticeDesk-Delivery") for r in hook.delivered}) >= expected,
        90,
        "all notifications",
    )
    wait_for(lambda: inbox_size(dovecot, user) == 0, 30, "the INBOX emptied")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0
    with engine.connect() as connection:
        refs = Counter(connection.execute(select(cases.c.case_ref)).scalars())
        stored = Counter(connection.execute(select(messages.c.message_id)).scalars())
    engine.dispose()
    assert len(refs) == MAILS and set(refs.values()) == {1}  # every mail one case
    assert len(stored) == MAILS and set(stored.values()) == {1}  # and stored once
    assert inbox_size(dovecot, user, "Filed") == MAILS
    bodies = [json.loads(request.body) for request in hook.delivered]
    sent_keys = Counter(str(body["dedupe_key"]) for body in bodies)
    assert len(sent_keys) == expected and set(sent_keys.values()) == {1}, sent_keys.most_common(3)
    kinds = Counter(str(body["kind"]) for body in bodies)
    assert kinds == {"case.opened": MAILS, "deadline.approaching": 2 * MAILS}
    events = log_events(log)
    assert any(event.get("event") == "input.filed" for event in events)
    assert "secret-pass-1" not in log.read_text() and "whsec-e2e" not in log.read_text()


def test_sigterm_in_the_middle_of_a_batch_commits_marks_and_exits_0(
    dovecot: Dovecot, hook: Receiver, tmp_path: Path
) -> None:
    user = dovecot.add_user()
    dovecot.append(user, *(abuse_report(1000 + number) for number in range(MAILS)))
    db = f"sqlite:///{tmp_path / 'noticedesk.db'}"
    engine = make_engine(db)
    log = tmp_path / "watch.log"
    watcher = start(db, write_config(tmp_path, dovecot, user, hook), hook, log)

    wait_for(lambda: filed(engine) >= 10, 60, "the first batches")
    watcher.send_signal(signal.SIGTERM)
    assert watcher.wait(timeout=15) == 0
    done = filed(engine)
    engine.dispose()
    assert done < MAILS, "the watcher was done before it was stopped"
    # Every mail filed was marked (moved) before the exit, and no other was.
    assert (inbox_size(dovecot, user), inbox_size(dovecot, user, "Filed")) == (MAILS - done, done)
    assert "Traceback" not in log.read_text()


def test_sigterm_while_waiting_exits_0_at_once(dovecot: Dovecot, hook: Receiver, tmp_path: Path) -> None:
    user = dovecot.add_user()
    db = f"sqlite:///{tmp_path / 'noticedesk.db'}"
    config = write_config(tmp_path, dovecot, user, hook, poll_seconds=60, clock_seconds=60)
    log = tmp_path / "watch.log"
    watcher = start(db, config, hook, log)
    wait_for(lambda: "imap connected" in log.read_text(), 30, "the watcher to connect")
    time.sleep(0.5)  # in IDLE now, for up to a minute
    began = time.monotonic()
    watcher.send_signal(signal.SIGTERM)
    assert watcher.wait(timeout=10) == 0
    assert time.monotonic() - began < 3
    text = log.read_text()
    assert "stopping" in text and "stopped" in text and "Traceback" not in text


def test_once_does_one_pass_with_json_log_lines(dovecot: Dovecot, hook: Receiver, tmp_path: Path) -> None:
    user = dovecot.add_user()
    dovecot.append(user, abuse_report(900))
    db = f"sqlite:///{tmp_path / 'noticedesk.db'}"
    config = write_config(tmp_path, dovecot, user, hook)
    log = tmp_path / "watch.log"
    assert start(db, config, hook, log, "--once", "--log-format", "json").wait(timeout=60) == 0
    events = log_events(log)
    filed_events = [event for event in events if event.get("event") == "input.filed"]
    assert len(filed_events) == 1
    assert (filed_events[0]["kind"], filed_events[0]["case_id"]) == ("abuse-report", 1)
    assert inbox_size(dovecot, user) == 0
