"""The deadline clocks: pure alerts, then a watcher with a test clock sending each alert once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from noticedesk.config import Config, NotifyConfig, WatchConfig
from noticedesk.notify.channels.webhook import WebhookChannel
from noticedesk.store.tables import cases
from noticedesk.watch.build import build_watcher
from noticedesk.watch.deadlines import OpenCase, due_alerts
from noticedesk.watch.notifying import OutboxNotifier
from noticedesk.watch.runner import Watcher
from tests.notify_helpers import Receiver, receiver
from tests.watch_helpers import abuse_reminder, abuse_report

DEADLINE = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
CASE = OpenCase(7, "111122223333", "abuse-report", "notice", "new", "Abuse report", DEADLINE, None)
WARNINGS = (12.0, 2.0)
WITHIN = timedelta(hours=72)


def keys(now: datetime, case: OpenCase = CASE) -> list[str]:
    return [alert.dedupe_key for alert in due_alerts([case], now, WARNINGS, WITHIN)]


def test_no_alert_before_the_first_warning() -> None:
    assert keys(DEADLINE - timedelta(hours=12, minutes=1)) == []


def test_the_warning_crossed_last_is_the_one_raised() -> None:
    assert keys(DEADLINE - timedelta(hours=11)) == ["deadline:7:reply_by:20261128T0300Z:12h"]
    # 90 minutes left: the 2-hour warning only, not the 12-hour one as well.
    assert keys(DEADLINE - timedelta(minutes=90)) == ["deadline:7:reply_by:20261128T0300Z:2h"]


def test_a_missed_deadline_is_raised_within_its_window_only() -> None:
    assert keys(DEADLINE + timedelta(minutes=1)) == ["deadline-missed:7:reply_by:20261128T0300Z"]
    assert keys(DEADLINE + WITHIN + timedelta(minutes=1)) == []


def test_a_replied_case_has_no_reply_by_alert_but_keeps_its_enforcement_clock() -> None:
    replied = replace(CASE, status="replied", enforcement_at=DEADLINE + timedelta(hours=1))
    assert keys(DEADLINE - timedelta(hours=1), replied) == ["deadline:7:enforcement:20261128T0400Z:2h"]


def test_resolved_cases_and_enforcement_already_done_raise_nothing() -> None:
    assert keys(DEADLINE - timedelta(hours=1), replace(CASE, status="resolved")) == []
    final = replace(CASE, stage="final", reply_by=None, enforcement_at=DEADLINE)
    assert keys(DEADLINE + timedelta(minutes=5), final) == []


def test_the_alert_carries_what_the_message_needs() -> None:
    (alert,) = due_alerts([CASE], DEADLINE - timedelta(hours=1), WARNINGS, WITHIN)
    facts = alert.facts()
    assert facts["deadline"] == DEADLINE.isoformat()
    assert (facts["deadline_label"], facts["case_kind"], facts["warning_hours"]) == (
        "reply_by",
        "abuse-report",
        "2",
    )
    assert facts["command"] == "noticedesk reply 7"


# -- a watcher with a test clock -----------------------------------------------------------------


class SteppedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def maildir(root: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def deliver(folder: Path, name: str, raw: bytes) -> None:
    (folder / "tmp" / name).write_bytes(raw)
    (folder / "tmp" / name).rename(folder / "new" / name)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as server:
        yield server


def watcher_with(engine: Engine, folder: Path, clock: SteppedClock, hook: Receiver) -> Watcher:
    config = Config(watch=WatchConfig(maildirs=[folder], clock_seconds=60))
    channels = {"default": WebhookChannel("default", hook.url + "/hook", "whsec-test", clock=clock)}
    notifier = OutboxNotifier(engine, NotifyConfig(), clock, channels=channels)
    return build_watcher(engine, config, clock, notifier=notifier)


def events(hook: Receiver, kind: str) -> list[dict[str, object]]:
    found = [json.loads(request.body) for request in hook.delivered]
    return [body for body in found if body["kind"] == kind]


def test_a_deadline_two_hours_away_notifies_once_not_once_a_minute(
    engine: Engine, tmp_path: Path, hook: Receiver
) -> None:
    folder = maildir(tmp_path / "Maildir")
    clock = SteppedClock(datetime(2026, 11, 27, 3, 5, tzinfo=UTC))
    deliver(folder, "1.mail", abuse_report(1))
    watcher = watcher_with(engine, folder, clock, hook)
    assert watcher.run_once().filed == 1
    with engine.connect() as connection:
        case_id, reply_by = connection.execute(select(cases.c.id, cases.c.reply_by)).one()
    assert reply_by == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # "reply within 24 hours"
    clock.at = reply_by - timedelta(hours=11)
    watcher.run_once()  # the 12-hour warnings (reply-by, and enforcement: AWS may act then too)
    clock.at = reply_by - timedelta(hours=2, minutes=30)
    for _ in range(160):  # every minute for 2 h 40 min: past the 2-hour warning and the deadline
        watcher.run_once()
        clock.advance(minutes=1)
    stamp = "20261128T0300Z"
    approaching = [body["dedupe_key"] for body in events(hook, "deadline.approaching")]
    missed = [body["dedupe_key"] for body in events(hook, "deadline.missed")]
    assert approaching == [
        f"deadline:{case_id}:reply_by:{stamp}:12h",
        f"deadline:{case_id}:enforcement:{stamp}:12h",
        f"deadline:{case_id}:reply_by:{stamp}:2h",
        f"deadline:{case_id}:enforcement:{stamp}:2h",
    ]
    assert missed == [
        f"deadline-missed:{case_id}:reply_by:{stamp}",
        f"deadline-missed:{case_id}:enforcement:{stamp}",
    ]
    two_hours = next(json.loads(r.body) for r in hook.delivered if b":2h" in r.body)
    assert two_hours["command"] == f"noticedesk reply {case_id}"
    assert two_hours["time_left"]  # counted when it was sent
    sent = [json.loads(request.body)["kind"] for request in hook.requests]
    assert sorted(sent) == ["case.opened"] + ["deadline.approaching"] * 4 + ["deadline.missed"] * 2


def test_a_reminder_moves_the_deadline_and_warns_again(
    engine: Engine, tmp_path: Path, hook: Receiver
) -> None:
    folder = maildir(tmp_path / "Maildir")
    clock = SteppedClock(datetime(2026, 11, 27, 3, 5, tzinfo=UTC))
    deliver(folder, "1.mail", abuse_report(2))
    watcher = watcher_with(engine, folder, clock, hook)
    watcher.run_once()
    clock.at = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 11 h before the first reply-by
    watcher.run_once()
    assert len(events(hook, "deadline.approaching")) == 2  # reply-by and enforcement, 12 h
    deliver(folder, "2.mail", abuse_reminder(2, sent=datetime(2026, 11, 27, 17, 0)))
    clock.at = datetime(2026, 11, 27, 17, 10, tzinfo=UTC)
    assert watcher.run_once().filed == 1
    with engine.connect() as connection:
        stage, reply_by = connection.execute(select(cases.c.stage, cases.c.reply_by)).one()
    assert stage == "reminder" and reply_by > datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    clock.at = reply_by - timedelta(hours=1)
    watcher.run_once()
    keys_sent = [str(body["dedupe_key"]) for body in events(hook, "deadline.approaching")]
    stamp = reply_by.strftime("%Y%m%dT%H%MZ")
    assert f"deadline:1:reply_by:{stamp}:2h" in keys_sent[2:]  # the moved deadline warns again


def test_the_clock_tick_raises_the_ses_alarms_once_a_minute_not_once_a_pass(
    sqlite_engine: Engine, tmp_path: Path, hook: Receiver
) -> None:
    from noticedesk.feedback.events import parse_line
    from noticedesk.feedback.ingest import ingest_batches
    from noticedesk.feedback.verdicts import PolicySettings
    from tests.test_feedback_alarms import line

    folder = maildir(tmp_path / "Maildir")
    clock = SteppedClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    watcher = watcher_with(sqlite_engine, folder, clock, hook)
    watcher.run_once()  # the first tick: nothing to raise yet
    lines = [line("send", index) for index in range(200)] + [line("bounce", index) for index in range(12)]
    ingest_batches(sqlite_engine, [(parse_line(text), "x") for text in lines], PolicySettings(), clock())
    clock.advance(seconds=30)
    watcher.run_once()  # within the minute: the alarms are not read
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(cases)).all() == []
    clock.advance(seconds=31)
    watcher.run_once()
    with sqlite_engine.connect() as connection:
        case = connection.execute(select(cases)).one()
    assert (case.kind, case.stage) == ("ses-bounce", "early-warning")
    told = [json.loads(request.body)["kind"] for request in hook.delivered]
    assert told.count("ses.alarm.raised") >= 1
