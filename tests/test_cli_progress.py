"""Progress bars: only on a terminal, only once the work has taken about two seconds, never in JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from noticedesk.cli import App, cli
from noticedesk.cli.progress import LazyProgress, progress
from noticedesk.config import Config
from tests.conftest import DATA, FIXED_NOW


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=80), out


def test_short_work_shows_no_bar_long_work_does() -> None:
    console, out = _terminal()
    clock = Clock()
    with LazyProgress(console, "messages read", clock=clock) as bar:
        bar.advance(note="0 case(s) filed")
        clock.seconds = 1.5
        bar.advance()
        assert bar.bar is None and out.getvalue() == ""
        clock.seconds = 2.1
        bar.advance(note="1 case(s) filed")
        assert bar.bar is not None
        assert bar.bar.tasks[0].completed == 3 and bar.bar.tasks[0].fields["note"] == "1 case(s) filed"
    assert "messages read" in out.getvalue()


def test_no_bar_when_not_asked() -> None:
    console, out = _terminal()
    with progress(console, False, "events read") as advance:
        advance(5, note="x")
    assert out.getvalue() == ""


def test_triage_json_and_piped_output_carry_no_bar(tmp_path: Path) -> None:
    mails = [str(path) for path in sorted((DATA / "mails").glob("*.eml"))[:5]]
    for console, arguments in (
        (Console(force_terminal=False, width=80), []),
        (Console(force_terminal=True, width=80), ["--json"]),
    ):
        app = App(
            db_url=f"sqlite:///{tmp_path / 'n.db'}", config=Config(), now=lambda: FIXED_NOW, console=console
        )
        result = CliRunner().invoke(cli, ["triage", *arguments, *mails], obj=app)
        assert "\x1b[?25l" not in result.output and "messages read" not in result.output  # no bar drawn
        if arguments:
            assert all(json.loads(line) for line in result.output.splitlines())


def test_shell_completion_scripts_and_completions_as_the_readme_says() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for shell in ("bash", "zsh", "fish"):
        assert f"_NOTICEDESK_COMPLETE={shell}_source noticedesk" in readme
        script = CliRunner().invoke(
            cli, [], prog_name="noticedesk", env={"_NOTICEDESK_COMPLETE": f"{shell}_source"}
        )
        assert script.exit_code == 0 and "_NOTICEDESK_COMPLETE" in script.output, shell
    words = {"_NOTICEDESK_COMPLETE": "bash_complete", "COMP_WORDS": "noticedesk ca", "COMP_CWORD": "1"}
    completed = CliRunner().invoke(cli, [], prog_name="noticedesk", env=words)
    assert "plain,cases" in completed.output.splitlines() and "plain,case" in completed.output.splitlines()
