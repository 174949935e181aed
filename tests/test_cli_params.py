"""Ids too large for the store are a usage error in every command that takes one (exit 2, no traceback)."""

from __future__ import annotations

from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from triage_helpers import make_app

from noticedesk.cli import cli
from noticedesk.cli.params import LARGEST_ROW_ID

HUGE = "99999999999999999999999"
COMMANDS = [
    ["case", "show", HUGE],
    ["case", "check", HUGE, "confirm-notice"],
    ["case", "verify", HUGE],
    ["diagnose", HUGE],
    ["fix", "plan", HUGE],
    ["fix", "apply", HUGE],
    ["reply", HUGE],
    ["reply", "mark-sent", HUGE],
    ["summary", HUGE],
]


@pytest.mark.parametrize("arguments", COMMANDS, ids=lambda arguments: " ".join(arguments[:2]))
def test_an_id_too_large_for_an_integer_is_one_usage_error(
    arguments: list[str], engine: Engine, now: datetime
) -> None:
    result = CliRunner().invoke(cli, arguments, obj=make_app(engine, now))
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, OverflowError)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if "Error" in line or "error" in line]
    assert len(errors) == 1 and HUGE in errors[0]


@pytest.mark.parametrize("case_id", ["0", str(LARGEST_ROW_ID + 1), "1e3", "٣"])
def test_ids_out_of_range_or_not_digits_are_refused(
    case_id: str, sqlite_engine: Engine, now: datetime
) -> None:
    result = CliRunner().invoke(cli, ["case", "show", case_id], obj=make_app(sqlite_engine, now))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_the_largest_id_is_looked_up_and_not_found(engine: Engine, now: datetime) -> None:
    result = CliRunner().invoke(cli, ["case", "show", str(LARGEST_ROW_ID)], obj=make_app(engine, now))
    assert result.exit_code == 2
    assert result.stderr == f"error: no case {LARGEST_ROW_ID}\n"
