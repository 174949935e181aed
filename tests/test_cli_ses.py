from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, delete, select

from noticedesk.cli import cli
from noticedesk.feedback.suppressions import COLUMNS
from noticedesk.store.tables import case_events, cases, checklist_items, ses_alarms
from tests.conftest import DATA
from tests.test_feedback_alarms import line

FEEDBACK = str(DATA / "ses" / "feedback.jsonl")
BAD = str(DATA / "ses" / "bad-lines.jsonl")


def run(tmp_path: Path, *arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "n.db"), *arguments])
    return result.exit_code, result.stdout, result.stderr


def test_ingest_reports_bad_lines_with_file_and_line_and_goes_on(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "ses", "ingest", FEEDBACK, BAD)
    assert code == 1
    assert (
        f"{BAD}: line 2: not JSON (unexpected character" in err and f"{BAD}: line 3: neither eventType" in err
    )
    assert "20 new" in out
    code, out, _ = run(tmp_path, "ses", "ingest", FEEDBACK)
    assert code == 0 and "0 new" in out


def test_check_exits_1_when_suppressed(tmp_path: Path) -> None:
    run(tmp_path, "ses", "ingest", FEEDBACK)
    code, out, _ = run(tmp_path, "ses", "check", "Nobody@Example.ORG")
    assert code == 1 and "SUPPRESSED" in out
    code, out, _ = run(tmp_path, "ses", "check", "happy@example.net")
    assert code == 0 and "not suppressed" in out
    code, out, _ = run(tmp_path, "ses", "check", "new@example.net", "--json")
    assert code == 0 and json.loads(out) == {"address": "new@example.net", "suppressed": False}
    code, _, err = run(tmp_path, "ses", "check", "no-at-sign")
    assert code == 2 and "not an e-mail address" in err


def test_suppressed_exports_json_and_csv(tmp_path: Path) -> None:
    run(tmp_path, "ses", "ingest", FEEDBACK)
    _, out, _ = run(tmp_path, "ses", "suppressed", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 7 and all(row["suppressed"] for row in rows)
    _, out, _ = run(tmp_path, "ses", "suppressed", "--csv", "--all")
    table = list(csv.DictReader(io.StringIO(out)))
    assert {row["address"] for row in table} >= {"happy@example.net", "odd@example.org"}
    assert next(row for row in table if row["address"] == "odd@example.org")["flagged"] == "True"


def test_repeated_undetermined_bounces_suppress_for_a_while_and_show_why(tmp_path: Path) -> None:
    first = (DATA / "ses" / "feedback.jsonl").read_text().splitlines()[8]  # odd@example.org, Undetermined
    assert "fb-undet-1" in first
    more = [
        first.replace("fb-undet-1", f"fb-undet-{day + 1}").replace(
            "2026-11-28T12:04", f"2026-11-{28 + day}T12:04"
        )
        for day in (1, 2)
    ]
    path = tmp_path / "undetermined.jsonl"
    path.write_text("\n".join([first]) + "\n")
    run(tmp_path, "ses", "ingest", str(path))
    code, out, _ = run(tmp_path, "ses", "check", "odd@example.org")
    assert code == 0 and out == (
        "odd@example.org: not suppressed (Undetermined/Undetermined); "
        "flagged: 1 Undetermined bounce(s), 3 within 7 days suppress it\n"
    )
    path.write_text("\n".join(more) + "\n")
    run(tmp_path, "ses", "ingest", str(path))
    code, out, _ = run(tmp_path, "ses", "check", "odd@example.org")
    assert code == 1
    assert (
        "SUPPRESSED (repeated-undetermined-bounce: Undetermined/Undetermined) until 2026-12-30T12:04" in out
    )
    _, out, _ = run(tmp_path, "ses", "suppressed", "--csv")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["cause"], row["flagged"], row["undetermined_count"]) == (
        "repeated-undetermined-bounce",
        "True",
        "3",
    )
    assert tuple(out.splitlines()[0].split(",")) == COLUMNS  # every column, as --json has them


def test_rates_json(tmp_path: Path) -> None:
    run(tmp_path, "ses", "ingest", FEEDBACK)  # fixture feedback of 2026-11-28: inside the 14-day window
    _, out, _ = run(tmp_path, "ses", "rates", "--json", "--no-cloudwatch")
    rows = [json.loads(line) for line in out.splitlines()]
    config_set = next(row for row in rows if row.get("scope") == "configuration-set")
    assert config_set["sends"] == 2 and config_set["hard_bounces"] == 2 and config_set["soft_bounces"] == 3
    assert (config_set["denominator"], config_set["denominator_source"]) == (5, "deliveries+bounces")
    assert config_set["bounce_rate"] == 0.4


def test_rates_only_read_and_alarms_check_raises(tmp_path: Path) -> None:
    burst = tmp_path / "burst.jsonl"
    burst.write_text(
        "".join(
            line(kind, index) + "\n"
            for kind, count in (("send", 200), ("bounce", 12))
            for index in range(count)
        )
    )
    run(tmp_path, "ses", "ingest", str(burst))  # raises the alarms of the import
    store = create_engine(f"sqlite:///{tmp_path / 'n.db'}")
    with store.begin() as connection:
        connection.execute(delete(case_events))
        connection.execute(delete(checklist_items))
        connection.execute(delete(ses_alarms))
        connection.execute(delete(cases))
    code, out, _ = run(tmp_path, "ses", "rates", "--no-cloudwatch")
    assert (
        code == 0 and "alarm: bounce rate 6.00% ≥ 4.00% (critical)" in out and "early-warning case" not in out
    )
    with store.connect() as connection:
        assert connection.execute(select(cases.c.id)).all() == []
        assert connection.execute(select(ses_alarms.c.id)).all() == []
    code, out, _ = run(tmp_path, "ses", "alarms", "list")
    assert code == 0 and "0 raised alarm(s)" in out
    code, out, _ = run(tmp_path, "ses", "alarms", "check")
    assert code == 0 and "early-warning case 1 opened: ses-bounce for account 111122223333" in out
    code, out, _ = run(tmp_path, "ses", "alarms", "list", "--json")
    listed = [json.loads(row) for row in out.splitlines()]
    assert {(row["scope"], row["case_id"]) for row in listed} == {
        ("account", 1),
        ("region", 1),
        ("identity", 1),
    }
    code, out, _ = run(tmp_path, "ses", "alarms", "check", "--json")
    rows = [json.loads(row) for row in out.splitlines()]
    assert [row["alarm"]["level"] for row in rows] == ["critical"] * 3  # raised already today: no change
    store.dispose()


def test_every_ses_command_has_help() -> None:
    for name in (
        "ingest",
        "suppressed",
        "check",
        "rates",
        "alarms check",
        "alarms list",
        "serve",
        "consume",
        "sync",
    ):
        result = CliRunner().invoke(cli, ["ses", *name.split(), "--help"])
        assert result.exit_code == 0 and len(result.stdout) > 100
    assert CliRunner().invoke(cli, ["serve", "--help"]).exit_code == 0


def test_every_ses_command_is_in_the_docs() -> None:
    text = (Path(__file__).parent.parent / "docs" / "ses-feedback.md").read_text()
    for name in (
        "ingest",
        "suppressed",
        "check",
        "rates",
        "alarms check",
        "alarms list",
        "serve",
        "consume",
        "sync",
    ):
        assert f"noticedesk ses {name}" in text
