"""The demo moves its samples to the run's day: the same story (one overdue, one due within hours,
the rest days away) whatever the clock says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from noticedesk.cli import App, cli
from noticedesk.cli.demo import sample_paths
from noticedesk.config import Config
from noticedesk.demo.timeshift import SAMPLES_TOLD_AT, shift_for, shift_sample


def _sample(name: str) -> bytes:
    return next(Path(path).read_bytes() for path in sample_paths() if path.endswith(name))


def test_no_shift_changes_nothing() -> None:
    for path in sample_paths():
        raw = Path(path).read_bytes()
        assert shift_sample(raw, timedelta(0)) == raw


def test_every_date_of_a_mail_moves_by_the_same_time() -> None:
    raw = _sample("02-abuse-report-port-scan.eml")
    by = timedelta(days=400, hours=5, minutes=3)
    moved = shift_sample(raw, by)
    date = parsedate_to_datetime(message_from_bytes(moved)["Date"])
    assert date - parsedate_to_datetime(message_from_bytes(raw)["Date"]) == by
    assert date.strftime("%a") == moved.split(b"Date: ", 1)[1][:3].decode()  # the weekday follows
    assert b"Abuse Time: 2 Jan 2028 02:17:03 GMT" in moved
    assert b"2028-01-02 02:17:04  203.0.113.45:41014" in moved


def test_dates_without_a_time_move_by_whole_days_and_keep_their_form() -> None:
    by = timedelta(days=105, hours=15)  # rounds to 106 days
    assert b"contact AWS by 2027-03-19 through" in shift_sample(_sample("01-compromised-access-key.eml"), by)
    assert b"The review period ends on March 26, 2027." in shift_sample(
        _sample("04-ses-bounce-review.eml"), by
    )
    health = json.loads(shift_sample(_sample("11-health-risk-credentials-exposed.json"), by))
    assert health["time"] == "2027-03-14T13:38:05Z"
    assert health["detail"]["endTime"] == "Sun, 28 Mar 2027 13:37:40 GMT"
    assert health["detail"]["eventMetadata"]["notifcationdateplusfour"] == "2027-03-19"


def test_the_iso_2022_jp_sample_keeps_its_japanese_bytes() -> None:
    raw = _sample("08-forwarded-ja-abuse-report-spam.eml")
    moved = shift_sample(raw, timedelta(days=1))
    assert moved.replace(b"29 Nov 2026", b"28 Nov 2026").replace(b"Sun, ", b"Sat, ") == raw
    assert "日付: Sun, 29 Nov 2026 06:20:37 +0000" in moved.decode("iso-2022-jp")
    assert b"Date: Sun, 29 Nov 2026 16:05:12 +0900" in moved  # the local time in its own zone


def test_numbers_that_are_not_dates_stay() -> None:
    moved = shift_sample(_sample("09-phishing-overdue-invoice.eml"), timedelta(days=30))
    assert moved.count(b"ref=INV-2026-11-8841") == 2
    assert b"<20261128120344.5521.demo-phish@" in moved


def _board(tmp_path: Path, now: datetime) -> tuple[list[dict[str, object]], str]:
    def app(database: str) -> App:
        return App(
            db_url=f"sqlite:///{tmp_path / database}",
            config=Config(),
            now=lambda: now,
            console=Console(width=80, force_terminal=False),
        )

    runner = CliRunner()
    demo = runner.invoke(
        cli, ["demo", "--no-aws", "--lang", "en"], obj=app("unused.db"), catch_exceptions=False
    )
    assert demo.exit_code == 0, demo.output
    board = runner.invoke(cli, ["cases", "--json"], obj=app("noticedesk-demo.db"), catch_exceptions=False)
    return [json.loads(line) for line in board.output.splitlines()], demo.output


@pytest.mark.parametrize(
    "now",
    [
        datetime(2027, 2, 28, 23, 59, tzinfo=UTC),
        datetime(2030, 7, 1, 0, 1, tzinfo=UTC),
        SAMPLES_TOLD_AT,
    ],
    ids=str,
)
def test_the_demo_tells_the_same_story_on_any_day(
    tmp_path: Path, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo's own database is made in the current folder
    board, output = _board(tmp_path, now)
    hours = sorted(
        int(str(case["seconds_left"])) / 3600 for case in board if case["seconds_left"] is not None
    )
    assert len(board) == 7 and len(hours) == 6
    # The forwarded report is overdue; after the reminder (AWS's second warning) AWS may act at once...
    assert hours[0] < 0 and hours[1] < 0
    reminder = next(case for case in board if case["stage"] == "reminder")
    assert reminder["enforcement_at"] < now.isoformat()
    # ... and the reply it asks for is due within hours.
    assert 0 < (datetime.fromisoformat(reminder["reply_by"]) - now).total_seconds() / 3600 < 24
    assert all(left >= 48 for left in hours[2:])  # the rest days away
    assert all(str(case["opened_at"]).startswith(str(now.year)) for case in board)
    # The reply to AWS for the leaked key is due in days: its draft does not call it overdue.
    assert "overdue" not in output.split("The reply to AWS", 1)[1]


def test_the_shift_is_the_time_since_the_samples_were_written() -> None:
    assert shift_for(SAMPLES_TOLD_AT + timedelta(hours=5)) == timedelta(hours=5)
