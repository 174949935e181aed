"""The ``noticedesk`` command line: a thin layer, each command builds objects and calls one method.

Exit codes: 0 success; 1 some input could not be read (the rest was processed), or a check
found what it looks for (``ses check``: the address is suppressed); 2 usage, configuration or
store error (one line on stderr, no traceback).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from noticedesk.cases.triage import utc_now
from noticedesk.cli.render import SafeConsole, echo
from noticedesk.config import Config, load_config
from noticedesk.errors import NoticeDeskError
from noticedesk.printable import PrintableFormatter
from noticedesk.store.db import DEFAULT_URL, open_store
from noticedesk.store.refusals import driver_message


@dataclass
class App:
    """What every command gets: settings, the store (opened on first use), the clock, the console."""

    db_url: str
    config: Config
    now: Callable[[], datetime] = utc_now
    console: SafeConsole = field(default_factory=lambda: SafeConsole(highlight=False))
    _engine: Engine | None = None

    def close(self) -> None:
        """Release the store's connections when the command is done."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_store(self.db_url)
        return self._engine


pass_app = click.make_pass_decorator(App)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoticeDeskError as error:
            echo(f"error: {error}", err=True)
            ctx.exit(2)
        except SQLAlchemyError as error:  # the store failed mid-command (read-only, disk full, gone)
            echo(f"error: the store failed: {driver_message(error)}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    envvar="NOTICEDESK_DATABASE_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="Database URL: a SQLite file (default) or postgresql://… for scale-out.",
)
@click.option(
    "--config",
    "config_path",
    envvar="NOTICEDESK_CONFIG",
    type=click.Path(path_type=Path),
    help="TOML configuration file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (structured, to stderr).")
@click.version_option(package_name="noticedesk")
@click.pass_context
def cli(ctx: click.Context, db_url: str, config_path: Path | None, verbose: bool) -> None:
    """NoticeDesk: answer the emails AWS sends when an account is in trouble, before the deadline."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, handlers=[handler])
    try:
        config = load_config(config_path)
    except NoticeDeskError as error:
        echo(f"error: {error}", err=True)
        ctx.exit(2)
    if not isinstance(ctx.obj, App):  # a caller (a test, an embedding program) may hand in its own
        ctx.obj = App(db_url=db_url, config=config)
        ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from noticedesk.cli import (
        cases,
        catalogue,
        demo,
        diagnose,
        fix,
        policy,
        reply,
        serve,
        ses,
        summary,
        triage,
    )

    for module in (triage, cases, catalogue, demo, diagnose, fix, policy, reply, summary, ses, serve):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="noticedesk")
