"""The IMAP source against a real Dovecot: read once, marked only after the commit, over TLS."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from noticedesk.config import Config, ImapConfig, WatchConfig
from noticedesk.errors import ConfigError
from noticedesk.store.tables import cases, messages, watch_cursors
from noticedesk.watch.build import build_watcher
from noticedesk.watch.imap import FILED_KEYWORD, ImapSource, imap_password
from noticedesk.watch.runner import Watcher
from tests.dovecot import PASSWORD, Dovecot, running_dovecot
from tests.watch_helpers import abuse_report

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def user(dovecot: Dovecot) -> str:
    return dovecot.add_user()


def imap_config(dovecot: Dovecot, user: str, **changes: object) -> ImapConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": dovecot.imaps_port,
        "username": user,
        "password_env": "ND_TEST_IMAP_PASSWORD",
        "ca_file": dovecot.ca_file,
        "processed_folder": "Filed",
    }
    values.update(changes)
    return ImapConfig.model_validate(values)


_MADE: list[Watcher] = []


def watcher_for(engine: Engine, imap: ImapConfig, **settings: object) -> Watcher:
    config = Config(watch=WatchConfig(imap=imap, **settings))  # type: ignore[arg-type]
    watcher = build_watcher(engine, config, lambda: NOW)
    _MADE.append(watcher)
    return watcher


@pytest.fixture(autouse=True)
def closed_after() -> Iterator[None]:
    yield
    while _MADE:
        _MADE.pop().close()


@pytest.fixture(autouse=True)
def password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ND_TEST_IMAP_PASSWORD", PASSWORD)


def count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def folder_uids(dovecot: Dovecot, user: str, folder: str) -> list[int]:
    client = dovecot.client(user)
    try:
        client.select_folder(folder)
        return list(client.search(["ALL"]))
    finally:
        client.logout()


def test_a_mail_appended_becomes_a_case_and_is_moved_after(
    engine: Engine, dovecot: Dovecot, user: str
) -> None:
    dovecot.append(user, abuse_report(1), abuse_report(2))
    watcher = watcher_for(engine, imap_config(dovecot, user))
    report = watcher.run_once()
    assert report.filed == 2 and report.source_errors == 0
    with engine.connect() as connection:
        refs = set(connection.execute(select(cases.c.case_ref)).scalars())
        cursor = connection.execute(select(watch_cursors.c.last_uid)).scalar_one()
    assert refs == {"18100000001-1", "18100000002-1"}
    assert cursor == 2
    assert folder_uids(dovecot, user, "INBOX") == []
    assert len(folder_uids(dovecot, user, "Filed")) == 2
    # A later mail: only it is read.
    dovecot.append(user, abuse_report(3))
    again = watcher.run_once()
    assert (again.filed, again.duplicates) == (1, 0)
    assert count(engine, messages) == 3


def test_without_a_processed_folder_a_filed_mail_is_flagged_and_not_read_again(
    sqlite_engine: Engine, dovecot: Dovecot, user: str
) -> None:
    dovecot.append(user, abuse_report(10))
    watcher = watcher_for(sqlite_engine, imap_config(dovecot, user, processed_folder=None))
    assert watcher.run_once().filed == 1
    client = dovecot.client(user)
    client.select_folder("INBOX")
    flags = client.get_flags(client.search(["ALL"]))
    client.logout()
    assert [set(value) >= {b"\\Seen", FILED_KEYWORD} for value in flags.values()] == [True]
    assert watcher.run_once().filed == 0
    # A new watcher (a restart) reads past the stored cursor: nothing again.
    restarted = watcher_for(sqlite_engine, imap_config(dovecot, user, processed_folder=None))
    assert (restarted.run_once().filed, count(sqlite_engine, messages)) == (0, 1)


def test_a_crash_after_the_commit_neither_loses_nor_duplicates(
    sqlite_engine: Engine, dovecot: Dovecot, user: str
) -> None:
    """Filed but not marked (killed before ``filed``): the next start files it as a duplicate, marks it."""
    dovecot.append(user, abuse_report(20), abuse_report(21))
    first = watcher_for(sqlite_engine, imap_config(dovecot, user))
    source = first.sources[0]
    arrivals = source.take(10)
    results = list(first.file([arrival.item for arrival in arrivals]))  # committed, then "killed"
    assert [result.duplicate for result in results] == [False, False]
    source.close()
    assert len(folder_uids(dovecot, user, "INBOX")) == 2  # not marked: the crash came first
    restarted = watcher_for(sqlite_engine, imap_config(dovecot, user))
    report = restarted.run_once()
    assert (report.filed, report.duplicates) == (0, 2)
    assert count(sqlite_engine, cases) == 2
    assert folder_uids(dovecot, user, "INBOX") == []


def test_a_crash_after_the_cursor_moved_marks_on_the_next_connection(
    sqlite_engine: Engine, dovecot: Dovecot, user: str
) -> None:
    dovecot.append(user, abuse_report(30))
    imap = imap_config(dovecot, user)
    source = ImapSource(imap, sqlite_engine, lambda: NOW, 10_000_000)
    arrivals = source.take(10)
    source.close()
    watcher = watcher_for(sqlite_engine, imap)
    list(watcher.file([arrival.item for arrival in arrivals]))
    from noticedesk.watch.cursors import Cursor, load_cursor, save_cursor

    stored = load_cursor(sqlite_engine, source.name)
    assert stored is None
    validity = source._cursor.uid_validity
    save_cursor(sqlite_engine, source.name, Cursor(validity, 1), NOW)  # then the process died
    assert len(folder_uids(dovecot, user, "INBOX")) == 1
    report = watcher.run_once()  # connects: marks what lies at or below the cursor, reads nothing
    assert (report.filed, report.duplicates) == (0, 0)
    assert folder_uids(dovecot, user, "INBOX") == []
    assert len(folder_uids(dovecot, user, "Filed")) == 1


def test_a_certificate_not_trusted_is_refused(sqlite_engine: Engine, dovecot: Dovecot, user: str) -> None:
    dovecot.append(user, abuse_report(40))
    watcher = watcher_for(sqlite_engine, imap_config(dovecot, user, ca_file=None))
    report = watcher.run_once()
    assert (report.source_errors, report.filed, count(sqlite_engine, messages)) == (1, 0, 0)


def test_starttls_on_the_plain_port(sqlite_engine: Engine, dovecot: Dovecot, user: str) -> None:
    dovecot.append(user, abuse_report(41))
    imap = imap_config(dovecot, user, port=dovecot.imap_port, tls=False, starttls=True)
    assert watcher_for(sqlite_engine, imap).run_once().filed == 1


def test_no_password_in_clear_beyond_loopback(sqlite_engine: Engine) -> None:
    imap = ImapConfig(host="imap.example.jp", username="ops", password_env="X", tls=False)
    with pytest.raises(ConfigError, match="in clear"):
        ImapSource(imap, sqlite_engine, lambda: NOW, 1000)


def test_the_password_comes_from_env_or_file_and_is_never_logged(
    sqlite_engine: Engine, dovecot: Dovecot, user: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text(f"{PASSWORD}\n")
    imap = imap_config(dovecot, user, password_env=None, password_file=secret)
    assert imap_password(imap) == PASSWORD
    with pytest.raises(ConfigError, match="NOT_SET_HERE"):
        imap_password(imap.model_copy(update={"password_env": "NOT_SET_HERE", "password_file": None}))
    dovecot.append(user, abuse_report(50))
    caplog.set_level(logging.DEBUG)
    assert watcher_for(sqlite_engine, imap).run_once().filed == 1
    wrong = imap.model_copy(update={"password_file": None, "password_env": "ND_WRONG"})
    import os

    os.environ["ND_WRONG"] = "not-the-password-xyz"
    try:
        assert watcher_for(sqlite_engine, wrong).run_once().source_errors == 1
    finally:
        del os.environ["ND_WRONG"]
    text = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "input filed" in text and "source unavailable" in text
    assert PASSWORD not in text and "not-the-password-xyz" not in text


def test_idle_wakes_the_watcher_within_a_second(sqlite_engine: Engine, dovecot: Dovecot, user: str) -> None:
    """Polling every 60 s: only IDLE can explain a mail filed within two seconds of its APPEND."""
    watcher = watcher_for(sqlite_engine, imap_config(dovecot, user), poll_seconds=60)
    watcher.run_once()  # connected, nothing waiting
    assert watcher.waiter is not None and watcher.waiter.can_idle
    filed: list[float] = []

    def loop() -> None:
        while not filed:
            watcher._wait()
            if watcher.run_once().filed:
                filed.append(time.monotonic())

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(0.3)  # the watcher is in IDLE now
    appended = time.monotonic()
    dovecot.append(user, abuse_report(60))
    thread.join(timeout=10)
    assert filed, "the mail was not filed within 10 s"
    assert filed[0] - appended < 2.0


def test_a_new_uidvalidity_reads_the_folder_again_and_files_nothing_twice(
    sqlite_engine: Engine, dovecot: Dovecot, user: str
) -> None:
    client = dovecot.client(user)
    client.create_folder("Notices")
    client.logout()
    dovecot.append(user, abuse_report(70), folder="Notices")
    imap = imap_config(dovecot, user, folder="Notices", processed_folder=None)
    assert watcher_for(sqlite_engine, imap).run_once().filed == 1
    # The folder is rebuilt (a restore, a migration): same mail again, and a new one, new UIDVALIDITY.
    client = dovecot.client(user)
    client.delete_folder("Notices")
    client.create_folder("Notices")
    client.logout()
    dovecot.append(user, abuse_report(70), abuse_report(71), folder="Notices")
    report = watcher_for(sqlite_engine, imap).run_once()
    assert (report.filed, report.duplicates) == (1, 1)
    assert (count(sqlite_engine, messages), count(sqlite_engine, cases)) == (2, 2)


def test_without_idle_the_watcher_polls(sqlite_engine: Engine, dovecot: Dovecot, user: str) -> None:
    watcher = watcher_for(sqlite_engine, imap_config(dovecot, user, idle=False), poll_seconds=0.2)
    watcher.run_once()
    assert watcher.waiter is not None and not watcher.waiter.can_idle
    began = time.monotonic()
    watcher._wait()  # a sleep of poll_seconds, not an IDLE
    assert 0.15 < time.monotonic() - began < 2
