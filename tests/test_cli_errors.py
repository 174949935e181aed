"""Every error is one line on stderr: Click's usage errors, a store that cannot be reached or is
not supported, SES commands without AWS credentials or with a bad line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from noticedesk.cli import cli


def run(tmp_path: Path, *arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "n.db"), *arguments], prog_name="noticedesk")
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (
            ["ses", "check", "not an address"],
            "error: Invalid value for ADDRESS: 'not an address' is not an e-mail address "
            "(try 'noticedesk ses check --help')",
        ),
        (
            ["summary", "1", "--lang", "fr"],
            "error: Invalid value for '--lang': 'fr' is not one of 'en', 'ja' "
            "(try 'noticedesk summary --help')",
        ),
        (["case", "show"], "error: Missing argument 'CASE_ID' (try 'noticedesk case show --help')"),
        (["no-such-command"], "error: No such command 'no-such-command' (try 'noticedesk --help')"),
        (["ses", "nothing"], "error: No such command 'nothing' (try 'noticedesk ses --help')"),
    ],
)
def test_a_usage_error_is_one_line_with_its_help_hint_and_exit_2(
    tmp_path: Path, arguments: list[str], line: str
) -> None:
    code, out, err = run(tmp_path, *arguments)
    assert (code, out, err) == (2, "", line + "\n")


def test_an_unknown_option_of_the_command_itself_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--no-such-option"], prog_name="noticedesk")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: No such option '--no-such-option' (try 'noticedesk --help')"
    ]


def test_a_group_without_its_command_still_shows_its_help() -> None:
    result = CliRunner().invoke(cli, ["ses"], prog_name="noticedesk")
    assert "Commands:" in result.output and "ingest" in result.output


def test_an_unsupported_database_names_those_that_are_and_hides_the_password(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--db", "mysql://user:hunter2@db.example/notices", "cases"], prog_name="noticedesk"
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: database URL 'mysql://user:***@db.example/notices': mysql is not supported; NoticeDesk "
        "runs on SQLite (a file path or sqlite:///FILE) and PostgreSQL (postgresql://USER@HOST/DATABASE)"
    ]


def test_a_refused_postgresql_connection_is_one_line_without_the_password() -> None:
    result = CliRunner().invoke(
        cli, ["--db", "postgresql://user:hunter2@127.0.0.1:1/notices", "cases"], prog_name="noticedesk"
    )
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach or migrate the database: ")
    assert "Connection refused" in lines[0] and "hunter2" not in result.stderr


def test_rates_without_credentials_say_the_authoritative_rates_were_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, out, err = run(tmp_path, "ses", "rates")
    assert code == 0 and err == ""
    assert "authoritative rates skipped: no AWS credentials" in " ".join(out.split())
    assert "NoCredentialsError" not in out
    code, out, _ = run(tmp_path, "ses", "rates", "--json")
    assert {
        "scope": "cloudwatch",
        "region": "us-east-1",
        "bounce_rate": None,
        "complaint_rate": None,
        "error": "no AWS credentials",
    } in [json.loads(line) for line in out.splitlines()]


def _burst(path: Path, bad_at: int) -> Path:
    """120 mails of one identity, 20 of them hard-bounced (16.7 %: a critical alarm), a bad line."""
    lines = []
    for number in range(120):
        mail = {
            "timestamp": "2026-11-28T11:59:58.000Z",
            "messageId": f"m-{number}",
            "source": "noreply@mail.example.jp",
            "sourceArn": "arn:aws:ses:us-east-1:111122223333:identity/mail.example.jp",
            "sendingAccountId": "111122223333",
            "destination": [f"r{number}@example.org"],
        }
        recipient = [{"emailAddress": f"r{number}@example.org"}]
        event = (
            {
                "notificationType": "Bounce",
                "bounce": {
                    "feedbackId": f"fb-{number}",
                    "bounceType": "Permanent",
                    "bouncedRecipients": recipient,
                    "timestamp": "2026-11-28T12:00:01.000Z",
                },
            }
            if number < 20
            else {
                "notificationType": "Delivery",
                "delivery": {
                    "timestamp": "2026-11-28T12:00:01.000Z",
                    "recipients": [f"r{number}@example.org"],
                },
            }
        )
        lines.append(json.dumps({**event, "mail": mail}))
    lines.insert(bad_at - 1, '{"notificationType": tru}')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ingest_names_each_early_warning_case_once_by_kind_and_account(tmp_path: Path) -> None:
    burst = _burst(tmp_path / "burst.jsonl", bad_at=12)
    code, out, err = run(tmp_path, "ses", "ingest", str(burst))
    assert code == 1
    assert len(err.splitlines()) == 1
    assert err.startswith(f"skipped {burst}: line 12: not JSON (invalid literal, expected 'true' at column ")
    assert "line 1 column" not in err  # orjson's position within the line: the column says it
    cases = [line for line in out.splitlines() if line.startswith("early-warning case")]
    assert cases == ["early-warning case 1 opened: ses-bounce for account 111122223333"]
    assert "for identity mail.example.jp (account 111122223333, us-east-1)" in out
    assert "111122223333/" not in out  # scopes as a person reads them, not the rate keys


def test_a_usage_error_shows_the_control_characters_of_an_argument_as_escapes(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "ses", "check", "\x1b[2Kforged")
    assert code == 2 and "\x1b" not in err and "\\x1b[2Kforged" in err
