"""What a person reads on a terminal: the board, a case, a diagnosis and a fix plan at 80 and 120
columns keep whole, on one line, what identifies each case, finding and action; Japanese wraps by
phrase with a hanging indent; times in the user's zone."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console

from noticedesk.cli import App, cli
from noticedesk.cli.board import KIND_LABELS
from noticedesk.cli.render import SafeConsole
from noticedesk.cli.wrap import wrap
from noticedesk.config import Config, DisplayConfig
from noticedesk.notices.model import Kind

NOW = datetime(2027, 3, 15, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo, fake AWS included, run once: seven cases, a diagnosis and applied fixes."""
    folder = tmp_path_factory.mktemp("layout")
    before = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, ["demo"], obj=_app(folder / "unused.db", 80), catch_exceptions=False)
        assert result.exit_code == 0, result.output
    finally:
        os.chdir(before)
    yield folder / "noticedesk-demo.db"


def _app(database: Path, width: int, config: Config | None = None) -> App:
    return App(
        db_url=f"sqlite:///{database}",
        config=config or Config(),
        now=lambda: NOW,
        console=Console(width=width, force_terminal=False),
    )


def show(database: Path, width: int, *arguments: str, config: Config | None = None) -> str:
    result = CliRunner().invoke(
        cli, list(arguments), obj=_app(database, width, config), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def _fits(output: str, width: int) -> None:
    too_wide = [line for line in output.splitlines() if cell_len(line) > width]
    assert not too_wide, too_wide


def _board(database: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in show(database, 80, "cases", "--json").splitlines()]


@pytest.mark.parametrize("width", [80, 120])
def test_the_board_keeps_each_case_whole_on_one_line(demo_db: Path, width: int) -> None:
    output = show(demo_db, width, "cases")
    _fits(output, width)
    lines = output.split("──\n", 1)[1].splitlines()  # the rows, below the header's rule
    for case in _board(demo_db):
        label = str(case["kind"]) if width >= 120 else KIND_LABELS[str(case["kind"])]
        wanted = [str(case["id"]), label, str(case["account_id"]), str(case["case_ref"] or "-")]
        row = [line for line in lines if line.split()[:1] == [str(case["id"])]]
        assert len(row) == 1 and all(f" {value} " in f" {row[0]} " for value in wanted), (wanted, row)
    assert "…" not in output
    assert "overdue 5h39m" in output  # the time left comes before the date
    assert output.index("left") < output.index("due (UTC)")
    if width == 80:  # short labels, and a legend naming them
        assert "abuse=abuse-report" in output and "compro=account-compromised" in output


def test_wide_shows_every_column_in_full_whatever_the_width(demo_db: Path) -> None:
    output = show(demo_db, 80, "cases", "--wide")
    assert "authenticity" in output and "account-compromised" in output
    assert "Your AWS account 111122223333 is compromised" in output
    assert "…" not in output


def test_every_kind_has_a_short_label() -> None:
    assert set(KIND_LABELS) == {kind.value for kind in Kind}
    assert all(len(label) <= 7 for label in KIND_LABELS.values())
    assert len(set(KIND_LABELS.values())) == len(KIND_LABELS)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_case_show_fits_and_indents_what_it_wraps(demo_db: Path, width: int, lang: str) -> None:
    output = show(demo_db, width, "case", "show", "2", "--lang", lang)
    _fits(output, width)
    assert "12345678901-1" in output and "111122223333" in output
    heading, after = ("Checklist", "Timeline") if lang == "en" else ("チェックリスト", "タイムライン")
    checklist = output.split(heading, 1)[1].split(after, 1)[0].splitlines()[1:]
    assert all(line.startswith(("  ☐ ", "  ✔ ", "    ")) for line in checklist if line)
    if lang == "ja":
        flat = "\n".join(line.strip() for line in output.splitlines())
        assert "IP アドレス" in flat  # a phrase is never split
        japanese = [line for line in output.splitlines() if any("\u3040" <= c <= "\u9fff" for c in line)]
        assert not any(line.rstrip().endswith((" IP", " AWS", " ID")) for line in japanese)


@pytest.mark.parametrize("width", [80, 120])
def test_diagnosis_and_fixes_keep_what_identifies_each_line_whole(demo_db: Path, width: int) -> None:
    plan = show(demo_db, width, "fix", "plan", "1")
    _fits(plan, width)
    for line in show(demo_db, 80, "fix", "plan", "1", "--json").splitlines():
        action = json.loads(line)
        if action.get("status") == "refused" or not action.get("default", True):
            continue
        head = next(row for row in plan.splitlines() if row.split()[:1] == [action["id"]])
        assert action["action"] in head.split(), head


def test_a_diagnosis_is_one_block_a_finding(tmp_path: Path) -> None:
    from noticedesk.aws.diagnose import Diagnosis
    from noticedesk.aws.findings import Finding
    from noticedesk.cli.diagnose import print_diagnosis

    long = "Snapshot snap-0123456789abcdef0 (of vol-0fedcba9876543210) can be copied by any AWS account " * 2
    findings = (
        Finding(
            "public-ebs-snapshots",
            "fail",
            "critical",
            "111122223333",
            "ap-northeast-1",
            "snap-0123456789abcdef0",
            long,
        ),
        Finding("root-access-keys", "pass", "info", "111122223333", None, "111122223333", "No root key"),
    )
    checks = ("public-ebs-snapshots", "root-access-keys")
    diagnosis = Diagnosis("run-1", "111122223333", ("ap-northeast-1",), checks, findings, 4, 0.5)
    for width in (80, 120):
        app = _app(tmp_path / "n.db", width)
        with app.console.capture() as captured:
            print_diagnosis(app, diagnosis)
        output = captured.get()
        _fits(output, width)
        head = next(line for line in output.splitlines() if line.startswith("fail"))
        assert head.split() == [
            "fail",
            "critical",
            "public-ebs-snapshots",
            "ap-northeast-1",
            "snap-0123456789abcdef0",
        ]
        detail = [line for line in output.splitlines() if line.startswith("      ")]
        assert " ".join(" ".join(detail).split()).startswith(long.strip()[:60])


def test_times_are_shown_in_the_chosen_zone_and_json_stays_utc(demo_db: Path, tmp_path: Path) -> None:
    tokyo = show(demo_db, 120, "--tz", "Asia/Tokyo", "cases")
    utc = show(demo_db, 120, "--tz", "UTC", "cases")
    assert "due (JST)" in tokyo and "due (UTC)" in utc
    first = _board(demo_db)[0]
    deadline = datetime.fromisoformat(str(first["next_deadline"]))
    assert deadline.astimezone(UTC).strftime("%m-%d %H:%M") in utc
    from zoneinfo import ZoneInfo

    assert deadline.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%m-%d %H:%M") in tokyo
    config = tmp_path / "noticedesk.toml"
    config.write_text('[display]\ntimezone = "Asia/Tokyo"\n')
    for command in (["cases"], ["case", "show", "1"]):
        result = CliRunner().invoke(cli, ["--db", str(demo_db), "--config", str(config), *command])
        assert result.exit_code == 0 and "JST" in result.output and "UTC" not in result.output
    assert DisplayConfig(timezone="Asia/Tokyo").timezone == "Asia/Tokyo"
    as_json = show(demo_db, 80, "--tz", "Asia/Tokyo", "cases", "--json")
    assert str(first["next_deadline"]).endswith("+00:00") and str(first["next_deadline"]) in as_json


def test_an_unknown_zone_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "n.db"), "--tz", "Mars/Base", "cases"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --tz: unknown time zone 'Mars/Base' (an IANA name such as Asia/Tokyo or UTC)"
    ]
    config = tmp_path / "c.toml"
    config.write_text('[display]\ntimezone = "Mars/Base"\n')
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "n.db"), "--config", str(config), "cases"])
    assert result.exit_code == 2 and "Mars/Base" in result.stderr and len(result.stderr.splitlines()) == 1


def test_japanese_wraps_by_phrase_with_a_hanging_indent() -> None:
    text = (
        "AWS の元メールには IP アドレスとインスタンス ID が書かれています。"
        "24 時間以内に英語で返信してください。"
    )
    wrapped = wrap(text, 30, 4, "  ☐ ")
    lines = wrapped.splitlines()
    assert lines[0].startswith("  ☐ AWS の") and all(line.startswith("    ") for line in lines[1:])
    assert all(cell_len(line) <= 30 for line in lines)
    assert "".join(line.strip() for line in lines).replace(" ", "") == ("☐" + text).replace(" ", "")
    for phrase in ("IP アドレスと", "インスタンス ID が", "24 時間"):
        assert any(phrase in line for line in lines), phrase


def test_a_piece_longer_than_a_line_is_split_never_lost() -> None:
    url = "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html"
    lines = wrap(f"See {url} for the logs.", 30, 2).splitlines()
    assert all(cell_len(line) <= 30 for line in lines)
    assert "".join(line.strip() for line in lines).replace(" ", "") == f"See{url}forthelogs."


def test_the_summary_wraps_by_phrase_on_a_terminal_and_not_when_piped(demo_db: Path) -> None:
    def summary(terminal: bool) -> str:
        app = _app(demo_db, 60)
        app.console = SafeConsole(width=60, force_terminal=terminal)
        result = CliRunner().invoke(cli, ["summary", "1", "--lang", "ja"], obj=app, catch_exceptions=False)
        return result.output

    piped, shown = summary(False), summary(True)
    assert any(cell_len(line) > 60 for line in piped.splitlines())  # to copy: lines as written
    _fits(shown, 60)
    assert "".join(shown.split()) == "".join(piped.split())  # the same text, only wrapped
    bullets = shown.split("■ 残っている作業", 1)[1].splitlines()[1:]
    assert all(line.startswith(("・", "  ")) for line in bullets[:-2] if line)  # hanging under the bullet


def test_the_clock_labels_line_up_in_japanese(demo_db: Path) -> None:
    output = show(demo_db, 120, "case", "show", "2", "--lang", "ja")
    clocks = [line for line in output.splitlines() if line.startswith(("  返信期限", "  AWS の措置"))]
    assert len(clocks) == 2
    columns = {cell_len(match.group(0)) for line in clocks if (match := re.match(r"  (.+?)  +", line))}
    assert len(columns) == 1, clocks  # the times start in the same terminal column


def test_ses_tables_at_80_columns_never_cut_a_key_or_an_address(tmp_path: Path) -> None:
    from tests.test_cli_errors import _burst

    def app() -> App:  # the burst's day: its feedback inside the rates window
        at = datetime(2026, 11, 29, tzinfo=UTC)
        return App(f"sqlite:///{tmp_path / 'n.db'}", Config(), lambda: at, SafeConsole(width=80))

    runner = CliRunner()
    runner.invoke(cli, ["ses", "ingest", str(_burst(tmp_path / "burst.jsonl", bad_at=3))], obj=app())
    # (command, the column to read, a column filled only on a row's first line)
    for command, scope, starts in (
        (["ses", "rates", "--no-cloudwatch"], 2, 1),
        (["ses", "suppressed"], 1, 2),
    ):
        output = runner.invoke(cli, command, obj=app(), catch_exceptions=False).output
        _fits(output, 80)
        rows: list[str] = []
        for line in output.splitlines():
            if not line.startswith("│"):
                continue
            cells = line.split("│")
            if cells[starts].strip():  # a new row
                rows.append("")
            rows[-1] += cells[scope].strip()
        assert rows and not any("…" in row for row in rows)
        if scope == 2:
            assert "111122223333/us-east-1/mail.example.jp" in rows
        else:
            assert "r0@example.org" in rows


@pytest.mark.parametrize("width", [80, 130])
def test_triage_keeps_kind_account_and_case_whole(tmp_path: Path, width: int) -> None:
    from noticedesk.cli.demo import sample_paths

    paths = sample_paths()[:4]
    app = _app(tmp_path / "n.db", width)
    output = CliRunner().invoke(cli, ["triage", *paths], obj=app).output
    _fits(output, width)
    kinds = ["account-compromised", "abuse-report", "abuse-report", "ses-bounce"]
    cases = ["#1", "#2", "#2", "#3"]
    rows = [line for line in output.splitlines() if "111122223333" in line]
    assert len(rows) == 4
    for row, kind, case in zip(rows, kinds, cases, strict=True):
        label = kind if width >= 120 else KIND_LABELS[kind]
        assert f" {label} " in row and row.split()[-1] == case
    assert "…" not in output
    if width < 120:
        assert "compro=account-compromised" in output
