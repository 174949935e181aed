"""Control characters from mail or AWS never reach a terminal: plain, Rich and JSON output alike."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from triage_helpers import mail_bytes, make_app

from noticedesk.cli import cli
from noticedesk.cli.render import SafeConsole
from noticedesk.printable import loggable, printable, printable_json

HOSTILE = "\x1b[2K\x1b[1A\x1b[32mverified \x9b2K\x07 [/bold]"
# The subject as an encoded word: a header cannot carry ESC raw, but =1B decodes to it.
HOSTILE_SUBJECT = b"=?utf-8?q?=1B[2K=1B[1A=1B[32mverified_=C2=9B2K=07_[/bold]?="
CONTROL = {chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))}


def test_every_control_character_is_shown_as_an_escape() -> None:
    assert printable(HOSTILE) == "\\x1b[2K\\x1b[1A\\x1b[32mverified \\x9b2K\\x07 [/bold]"
    assert printable("two\nlines\tand a tab\r\nCRLF") == "two\nlines\tand a tab\r\nCRLF"
    assert printable("over\rwrite") == "over\\rwrite"  # a lone CR rewrites the line
    assert printable("one\nline\t", one_line=True) == "one\\nline\\t"
    assert printable("日本語のお知らせ") == "日本語のお知らせ"


@given(st.text())
def test_printable_leaves_no_control_character_but_newline_tab_and_crlf(text: str) -> None:
    shown = printable(text).replace("\r\n", "")
    assert not (set(shown) & CONTROL) - {"\n", "\t"}
    assert not set(printable(text, one_line=True)) & CONTROL


@given(st.recursive(st.text() | st.integers() | st.none(), lambda inner: st.lists(inner, max_size=3)))
def test_json_output_is_the_same_value_without_a_raw_control_character(data: object) -> None:
    line = printable_json({"value": data})
    assert not set(line) & CONTROL
    assert json.loads(line) == {"value": data}


def test_a_log_value_with_a_newline_cannot_forge_a_line() -> None:
    forged = "arn:aws:sns:us-east-1:111122223333:t\n2026-11-28 INFO sns subscription confirmed"
    assert "\n" not in loggable(forged)
    assert loggable("arn:aws:sns:us-east-1:111122223333:t") == "arn:aws:sns:us-east-1:111122223333:t"
    assert "\x1b" not in loggable("\x1b[31mred")


def test_rich_keeps_its_own_colours_and_shows_the_data_escapes() -> None:
    console = SafeConsole(force_terminal=True, color_system="standard", highlight=False, width=200)
    with console.capture() as captured:
        console.print(f"[green]ok[/green] {HOSTILE.replace('[/bold]', '')}")
    out = captured.get()
    assert "\x1b[32mok" in out  # Rich's own style
    assert "\x1b[2K" not in out and "\x1b[1A" not in out and "\x9b" not in out
    assert "\\x1b[2K\\x1b[1A\\x1b[32mverified" in out


@pytest.fixture
def hostile_case(tmp_path: Path, sqlite_engine: Engine, now: datetime) -> Path:
    raw = mail_bytes("compromised-subject.eml").replace(
        b"is Compromised\n", b"is Compromised " + HOSTILE_SUBJECT + b"\n", 1
    )
    path = tmp_path / "hostile.eml"
    path.write_bytes(raw)
    result = CliRunner().invoke(cli, ["triage", "--json", str(path)], obj=make_app(sqlite_engine, now))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["case_id"] == 1
    return path


@pytest.mark.parametrize(
    "arguments",
    [
        ["case", "show", "1"],
        ["case", "show", "1", "--json"],
        ["case", "show", "1", "--lang", "ja"],
        ["cases"],
        ["cases", "--json"],
        ["reply", "1"],
        ["reply", "1", "--format", "eml"],
        ["reply", "1", "--json"],
        ["summary", "1", "--lang", "en"],
        ["summary", "1", "--json"],
        ["triage", "HOSTILE"],
        ["triage", "--json", "HOSTILE"],
    ],
)
@pytest.mark.parametrize("terminal", [False, True])
def test_a_hostile_subject_reaches_no_output_raw(
    arguments: list[str], terminal: bool, hostile_case: Path, sqlite_engine: Engine, now: datetime
) -> None:
    app = make_app(sqlite_engine, now)
    if terminal:  # Rich writes its own colour codes: only the data's must be neutralised
        app.console = SafeConsole(force_terminal=True, color_system="standard", highlight=False)
    arguments = [str(hostile_case) if part == "HOSTILE" else part for part in arguments]
    result = CliRunner().invoke(cli, arguments, obj=app)
    assert result.exit_code == 0, result.output
    output = result.stdout + result.stderr
    assert "\x1b[2K" not in output and "\x1b[1A" not in output and "\x1b[32mverified" not in output
    assert "\x9b" not in output and "\x07" not in output
    if "show" in arguments and "--json" not in arguments:
        assert "\\x1b[2K" in output  # made visible, not silently dropped
        assert "[/bold]" in output  # shown as text, not taken for Rich markup


def test_feedback_names_reach_the_rates_table_as_text(tmp_path: Path) -> None:
    """An identity or configuration set named with ESC and Rich markup (from SES feedback)."""
    line = {
        "notificationType": "Bounce",
        "bounce": {
            "feedbackId": "fb-hostile",
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "nobody@example.org"}],
            "timestamp": "2026-11-28T11:00:01.000Z",
        },
        "mail": {
            "timestamp": "2026-11-28T10:59:58.000Z",
            "messageId": "m-hostile",
            "source": "noreply@example.com",
            "sourceArn": "arn:aws:ses:us-east-1:111122223333:identity/ev\x1b[2Kil[/bold]",
            "sendingAccountId": "111122223333",
            "destination": ["nobody@example.org"],
            "tags": {"ses:configuration-set": ["cs\x1b[1A[/b]"]},
        },
    }
    feedback = tmp_path / "hostile.jsonl"
    feedback.write_text(json.dumps(line) + "\n")
    database = ["--db", str(tmp_path / "n.db")]
    assert CliRunner().invoke(cli, [*database, "ses", "ingest", str(feedback)]).exit_code == 0
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, [*database, "ses", "rates", "--no-cloudwatch"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "[/bold]" in result.output and "\\x1b[1A[/b]" in result.output
