"""The README is tested against the code: its configuration example and its command list."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import click

from noticedesk.cli import cli
from noticedesk.config import Config

README = (Path(__file__).parent.parent / "README.md").read_text("utf-8")


def test_the_readme_opens_with_the_two_commands() -> None:
    commands = re.search(r"```bash\n(.*?)```", README, re.S)
    assert commands is not None
    lines = [line for line in commands.group(1).splitlines() if line and not line.startswith("#")]
    assert len(lines) == 2
    assert lines[0].endswith("noticedesk demo") and lines[1].endswith("scripts/check")


def test_the_configuration_example_is_valid() -> None:
    block = re.search(r"```toml\n(.*?)```", README, re.S)
    assert block is not None
    Config.model_validate(tomllib.loads(block.group(1)))


def test_every_command_is_in_the_readme_with_help_text() -> None:
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert command is not None
        assert f"noticedesk {name}" in README, f"the README does not mention `noticedesk {name}`"
        assert (command.help or "").strip(), f"`noticedesk {name}` has no help text"


def test_every_file_a_readme_command_names_is_in_the_repository() -> None:
    """The README's commands run as written from a fresh clone: the files they name exist."""
    root = Path(__file__).parent.parent
    named = [
        word
        for line in README.splitlines()
        if line.startswith("$ noticedesk ")
        for word in line.split()[2:]
        if "/" in word and word.endswith((".eml", ".json", ".jsonl", ".mbox"))
    ]
    assert named, "no file named by a README command"
    assert [path for path in named if not (root / path).exists()] == []
