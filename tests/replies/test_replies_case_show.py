"""`case show`: headings in the language asked for, and a notice at the time AWS sent it."""

from __future__ import annotations

from click.testing import CliRunner
from replies_support import file_case
from sqlalchemy import Engine

from noticedesk.cli import cli


def _show(engine: Engine, case_id: int, *args: str) -> str:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli, ["--db", url, "case", "show", str(case_id), *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_case_show_in_japanese_has_japanese_headings(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "abuse-report.eml")
    japanese = _show(sqlite_engine, case_id, "--lang", "ja")
    for heading in (
        "返信期限",
        "AWS の措置",
        "通知から読み取った事実",
        "チェックリスト",
        "タイムライン",
        "完了したら",
    ):
        assert heading in japanese, heading
    for english in ("Facts", "Checklist", "reply by", "Timeline", "tick with", "AWS acts"):
        assert english not in japanese, english
    english_output = _show(sqlite_engine, case_id)
    assert "Facts" in english_output and "Timeline" in english_output and "reply by" in english_output


def test_the_timeline_shows_when_aws_sent_a_forwarded_notice_and_when_it_was_triaged(
    sqlite_engine: Engine,
) -> None:
    case_id = file_case(sqlite_engine, "forwarded-abuse-report.eml")  # triaged 2026-11-28 09:00 UTC
    output = _show(sqlite_engine, case_id)
    timeline = " ".join(output.split("Timeline")[1].split())  # as read, whatever the width
    # The forwarded original's Date (02:00), not the forward's (03:00) nor the triage (09:00).
    assert timeline.startswith("2026-11-28 02:00 UTC notice-received")
    assert "triaged 2026-11-28 09:00 UTC)" in timeline
    japanese = " ".join(_show(sqlite_engine, case_id, "--lang", "ja").split())
    assert "取り込み 2026-11-28 09:00 UTC)" in japanese
