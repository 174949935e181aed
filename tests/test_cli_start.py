"""The CLI starts without loading what its commands need: `--help` imports no command module."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from noticedesk.cli import COMMAND_MODULES, cli

HELP_AND_MODULES = """
import sys
from noticedesk.cli import cli
cli.main(["--help"], prog_name="noticedesk", standalone_mode=False)
print("\\n".join(sorted(sys.modules)))
"""


def test_help_loads_neither_boto3_nor_sqlalchemy_nor_a_command() -> None:
    result = subprocess.run(
        [sys.executable, "-c", HELP_AND_MODULES], capture_output=True, text=True, timeout=60, check=True
    )
    modules = set(result.stdout.splitlines())
    assert "Commands:" in result.stdout and "triage" in result.stdout
    assert {"boto3", "botocore", "sqlalchemy", "alembic", "moto"}.isdisjoint(modules)
    assert {"noticedesk.notices.rules", "noticedesk.demo", "noticedesk.store.db"}.isdisjoint(modules)
    assert not [
        name for name in modules if name.startswith("noticedesk.cli.") and name != "noticedesk.cli.render"
    ]


CASES_AND_MODULES = """
import sys
from noticedesk.cli import cli
cli.main(["--db", sys.argv[1], "cases"], prog_name="noticedesk", standalone_mode=False)
print("\\n".join(sorted(sys.modules)))
"""


def test_the_board_loads_neither_aws_nor_alembic_nor_the_classifier(tmp_path: Path) -> None:
    """`noticedesk cases` on a store at this version's schema: what it needs, nothing more.

    The first run creates the store (Alembic migrates it); the second only reads the board.
    """
    command = [sys.executable, "-c", CASES_AND_MODULES, f"sqlite:///{tmp_path / 'n.db'}"]
    subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    modules = set(result.stdout.splitlines())
    assert "0 open case(s)" in result.stdout and "sqlalchemy" in modules
    assert {"boto3", "botocore", "alembic", "moto", "hyperscan", "dkim", "jinja2", "starlette"}.isdisjoint(
        modules
    )
    assert {"noticedesk.notices.rules", "noticedesk.notices.classify", "noticedesk.demo"}.isdisjoint(modules)


def test_the_listed_help_line_of_each_command_is_its_own() -> None:
    context = click.Context(cli)
    for name, (_, line) in COMMAND_MODULES.items():
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=10**6) == line, name


def test_every_command_of_the_cli_modules_is_listed() -> None:
    for module_name in {module for module, _ in COMMAND_MODULES.values()}:
        module = importlib.import_module(f"noticedesk.cli.{module_name}")
        for command in module.COMMANDS:
            assert COMMAND_MODULES.get(command.name or "", ("",))[0] == module_name, command.name


def test_help_lists_the_commands_as_the_loaded_commands_would() -> None:
    context = click.Context(cli, info_name="noticedesk")
    lazy = click.HelpFormatter(width=80)
    cli.format_commands(context, lazy)
    for name in COMMAND_MODULES:
        cli.get_command(context, name)
    loaded = click.HelpFormatter(width=80)
    click.Group.format_commands(cli, context, loaded)
    assert lazy.getvalue() == loaded.getvalue()
    assert lazy.getvalue() in CliRunner().invoke(cli, ["--help"], terminal_width=80).output
