"""The ``noticedesk`` command line: a thin layer, each command builds objects and calls one method.

Exit codes: 0 success; 1 some input could not be read (the rest was processed), or a check
found what it looks for (``ses check``: the address is suppressed); 2 usage, configuration or
store error (one line on stderr, no traceback).
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from noticedesk.cli.render import SafeConsole, echo
from noticedesk.errors import NoticeDeskError
from noticedesk.printable import PrintableFormatter, printable
from noticedesk.runtime import Runtime
from noticedesk.store import DEFAULT_URL

if TYPE_CHECKING:
    from noticedesk.config import Config

# Each command's module and the one line `noticedesk --help` shows for it. The modules are imported
# when their command runs, not at start: `--help` and `cases` need neither boto3 nor the classifier.
# tests/test_cli_start.py checks that each line is what the command's own help text gives.
COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "triage": (
        "triage",
        "Read .eml files, mbox files, Maildir folders, AWS Health JSON or - (stdin), and file cases.",
    ),
    "cases": ("cases", "The case board, nearest deadline first, with the time left."),
    "case": ("cases", "One case: show it, tick its checklist."),
    "rules": ("catalogue", "List the classification cues (kinds, stages, abuse types) with their weights."),
    "demo": (
        "demo",
        "Triage bundled sample notices, diagnose and fix a fake AWS account, draft the reply.",
    ),
    "diagnose": (
        "diagnose",
        "Read an AWS account (read-only) and report what is wrong; findings are stored, on the case if any.",
    ),
    "checks": ("diagnose", "List the diagnosis checks with their severity, kinds and IAM permissions."),
    "fix": ("fix", "Plan, apply and undo fixes for a case (dry run unless --yes)."),
    "actions": (
        "fix",
        "The catalogue of fixes: what each changes, the IAM permissions it needs, how it is undone.",
    ),
    "policy": ("iam_policy", "Print the IAM policies NoticeDesk needs: `diagnose` (read-only) and `fix`."),
    "reply": (
        "reply",
        "Draft the English reply to AWS for case CASE_ID, built only from what the case holds.",
    ),
    "summary": (
        "summary",
        "What AWS said, what it means, the clocks, what was found and done, what is left and by when.",
    ),
    "ses": ("ses", "The SES feedback loop: bounces and complaints → suppression list, rates, alarms."),
    "watch": (
        "watch",
        "Watch the mailbox, Maildirs and Health queue of [watch]: file what arrives, run the clocks, notify.",
    ),
    "accounts": (
        "accounts",
        "The accounts registry: names, owners, language, channels and role of each AWS account.",
    ),
    "notifications": (
        "notify",
        "The notifications outbox, newest first: sent, waiting to be retried, failed.",
    ),
    "notify": ("notify", "Try a notification channel, retry a failed notification, send what is due."),
    "worker": (
        "worker",
        "Consume SES feedback, AWS Health events and notice mails from SQS ([worker] in the config).",
    ),
    "dead-letters": ("worker", "SQS messages the worker could not process, newest first, with the reason."),
    "db": ("db", "The store's schema: upgrade it before starting workers of a newer version."),
    "serve": ("serve", "Serve the web app: the dashboard, the JSON API and the SNS webhook."),
    "users": ("users", "Who may log in to the web dashboard (noticedesk serve), and with which role."),
}


@dataclass
class App(Runtime):
    """What every command gets: the runtime (settings, store, AWS clients, clock) and the terminal."""

    console: SafeConsole = field(default_factory=lambda: SafeConsole(highlight=False))
    tz: tzinfo = UTC
    """The zone times are shown in on a terminal (``--tz``, ``[display] timezone``, the system's)."""


pass_app = click.make_pass_decorator(App)


def usage_line(error: click.ClickException) -> str:
    """Click's three-line usage error as one line, its ``--help`` hint kept at the end."""
    message = " ".join(error.format_message().split()).rstrip(".")
    context = getattr(error, "ctx", None)
    if isinstance(error, click.UsageError) and context is not None:
        message += f" (try '{context.command_path} --help')"
    return f"error: {printable(message, one_line=True)}"  # an argument may hold an ESC


class _Group(click.Group):
    """The top group: every error a command lets out becomes one ``error: …`` line on stderr.

    Its commands are loaded on first use (``COMMAND_MODULES``), so starting costs only what runs.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            module = importlib.import_module(f"noticedesk.cli.{COMMAND_MODULES[cmd_name][0]}")
            for command in module.COMMANDS:
                self.commands.setdefault(command.name or "", command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from ``COMMAND_MODULES``, without importing a command's module."""
        listed = {name: click.Command(name, help=line) for name, (_, line) in COMMAND_MODULES.items()}
        listed.update(self.commands)  # a command loaded already, or added by a caller, speaks for itself
        rows = [(name, listed[name]) for name in self.list_commands(ctx) if not listed[name].hidden]
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # bare `noticedesk`: the help, as Click prints it
        except click.ClickException as error:  # an unknown option of the group itself
            click.echo(usage_line(error), err=True)
            raise click.exceptions.Exit(
                2 if isinstance(error, click.UsageError) else error.exit_code
            ) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `noticedesk ses`: the group's help
        except click.ClickException as error:  # usage errors of every command and subcommand
            click.echo(usage_line(error), err=True)
            ctx.exit(2 if isinstance(error, click.UsageError) else error.exit_code)
        except NoticeDeskError as error:
            echo(f"error: {error}", err=True)
            ctx.exit(2)
        except Exception as error:
            # Only a command that opened the store can raise SQLAlchemy's errors: import it then.
            if "sqlalchemy" not in sys.modules:
                raise
            from sqlalchemy.exc import SQLAlchemyError

            from noticedesk.store.refusals import driver_message

            if not isinstance(error, SQLAlchemyError):
                raise
            # the store failed mid-command (read-only, disk full, gone)
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
@click.option(
    "--tz",
    "zone_name",
    metavar="ZONE",
    help="Time zone of the times shown, e.g. Asia/Tokyo ([display] timezone; default the system's). "
    "JSON stays UTC.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (structured, to stderr).")
@click.version_option(package_name="noticedesk")
@click.pass_context
def cli(
    ctx: click.Context, db_url: str, config_path: Path | None, zone_name: str | None, verbose: bool
) -> None:
    """NoticeDesk: answer the emails AWS sends when an account is in trouble, before the deadline."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, handlers=[handler])
    from noticedesk.config import load_config, zone_of

    try:
        config = load_config(config_path)
    except NoticeDeskError as error:
        echo(f"error: {error}", err=True)
        ctx.exit(2)
    try:
        zone = zone_of(zone_name) if zone_name else display_zone(config)
    except ValueError as error:
        echo(f"error: --tz: {error}", err=True)
        ctx.exit(2)
    if not isinstance(ctx.obj, App):  # a caller (a test, an embedding program) may hand in its own
        ctx.obj = App(db_url=db_url, config=config, tz=zone)
        ctx.call_on_close(ctx.obj.close)
    elif zone_name:
        ctx.obj.tz = zone


def display_zone(config: Config) -> tzinfo:
    """``[display] timezone``, else the system's zone."""
    from noticedesk.config import zone_of

    if config.display.timezone:
        return zone_of(config.display.timezone)
    return datetime.now().astimezone().tzinfo or UTC


def main() -> None:
    cli(prog_name="noticedesk")
