"""``noticedesk users add|list|remove|passwd|set``: who may log in to the web dashboard."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from noticedesk.cli import App, pass_app
from noticedesk.cli.render import echo, echo_json, short_time
from noticedesk.errors import UserError
from noticedesk.printable import printable

_ROLE = click.Choice(["viewer", "operator", "admin"])
_LANG = click.Choice(["ja", "en"])


def _password(from_stdin: bool) -> str:
    """From the first line of stdin (scripts), else asked twice without echo (people)."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UserError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


_PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)


@click.group("users")
def users_group() -> None:
    """Who may log in to the web dashboard (noticedesk serve), and with which role."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=_ROLE, required=True, help="viewer reads; operator acts on cases; admin fixes.")
@click.option("--lang", type=_LANG, default=None, help="Language of the pages (default: the browser's).")
@click.option("--timezone", default=None, help="Times shown in this IANA zone (default Asia/Tokyo for ja).")
@_PASSWORD_STDIN
@pass_app
def add(app: App, name: str, role: str, lang: str | None, timezone: str | None, password_stdin: bool) -> None:
    """Add user NAME with a password (hashed with Argon2; never stored or shown in clear)."""
    from noticedesk.users import add_user

    user = add_user(app.engine, name, _password(password_stdin), role, app.now(), lang, timezone)
    echo(f"user {printable(user.name)} added, role {user.role}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per user, one per line.")
@pass_app
def list_command(app: App, as_json: bool) -> None:
    """The users, their roles and settings (no password hashes)."""
    from noticedesk.users import list_users

    found = list_users(app.engine)
    if as_json:
        for user in found:
            echo_json(user.to_json())
        return
    table = Table(title=f"{len(found)} user(s)")
    for column in ("name", "role", "lang", "time zone", "changed"):
        table.add_column(column)
    for user in found:
        table.add_row(
            printable(user.name),
            user.role,
            user.lang or "-",
            user.timezone or "-",
            short_time(user.updated_at, app.tz),
        )
    app.console.print(table)


@users_group.command("remove")
@click.argument("name")
@pass_app
def remove(app: App, name: str) -> None:
    """Remove user NAME; their sessions end at their next request."""
    from noticedesk.users import remove_user

    remove_user(app.engine, name)
    echo(f"user {printable(name)} removed")


@users_group.command("passwd")
@click.argument("name")
@_PASSWORD_STDIN
@pass_app
def passwd(app: App, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME; every session signed before it ends."""
    from noticedesk.users import set_password

    set_password(app.engine, name, _password(password_stdin), app.now())
    echo(f"password of {printable(name)} changed; their other sessions are ended")


@users_group.command("set")
@click.argument("name")
@click.option("--role", type=_ROLE, default=None, help="New role.")
@click.option("--lang", type=_LANG, default=None, help="Language of the pages.")
@click.option("--timezone", default=None, help="IANA zone times are shown in.")
@pass_app
def set_command(app: App, name: str, role: str | None, lang: str | None, timezone: str | None) -> None:
    """Change the role, language or time zone of NAME."""
    from noticedesk.users.registry import set_settings

    user = set_settings(app.engine, name, app.now(), role=role, lang=lang, timezone=timezone)
    echo(
        f"user {printable(user.name)}: role {user.role}, lang {user.lang or '-'}, zone {user.timezone or '-'}"
    )


COMMANDS = [users_group]
