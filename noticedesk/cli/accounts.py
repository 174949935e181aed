"""``noticedesk accounts add|list|show|remove|import-org``: the accounts registry."""

from __future__ import annotations

import re

import click
from rich.markup import escape
from rich.table import Table

from noticedesk.accounts.registry import (
    LANGUAGES,
    Account,
    find_account,
    list_accounts,
    remove_account,
    save_account,
)
from noticedesk.cli import App, pass_app
from noticedesk.cli.render import echo, echo_json
from noticedesk.errors import ConfigError, NotFoundError

ACCOUNT_ID = re.compile(r"^\d{12}$")
CONTACT = re.compile(r"^[^@\s]+@[^@\s]+$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")


def _account_id(value: str) -> str:
    if not ACCOUNT_ID.match(value):
        raise click.BadParameter(f"{value!r} is not an AWS account id (12 digits)")
    return value


def _check_id(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    return _account_id(value)


@click.group("accounts")
def accounts_group() -> None:
    """The accounts registry: names, owners, language, channels and role of each AWS account."""


@accounts_group.command("add")
@click.argument("account_id", callback=_check_id)
@click.option("--name", required=True, help="What people call the account (shown next to its id).")
@click.option("--contact", "contacts", multiple=True, metavar="EMAIL", help="An owner's e-mail (repeatable).")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.option(
    "--channel", "channels", multiple=True, metavar="NAME", help="A [notify.channels] name (repeatable)."
)
@click.option("--role-arn", help="Role `diagnose` and `fix` assume in this account.")
@click.option("--external-id", help="The external id that role's trust policy asks for.")
@click.option(
    "--region", "regions", multiple=True, metavar="REGION", help="A region the account uses (repeatable)."
)
@pass_app
def add(
    app: App,
    account_id: str,
    name: str,
    contacts: tuple[str, ...],
    language: str,
    channels: tuple[str, ...],
    role_arn: str | None,
    external_id: str | None,
    regions: tuple[str, ...],
) -> None:
    """Register ACCOUNT_ID (or replace what is registered for it)."""
    bad = [contact for contact in contacts if not CONTACT.match(contact)]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not an e-mail address", param_hint="--contact")
    unknown = [channel for channel in channels if channel not in app.config.notify.channels]
    if unknown:
        raise ConfigError(f"channel {unknown[0]!r} is not in [notify.channels] of the configuration")
    if role_arn is not None and not ROLE_ARN.match(role_arn):
        raise click.BadParameter(f"{role_arn!r} is not an IAM role ARN", param_hint="--role-arn")
    if external_id is not None and role_arn is None:
        raise click.BadParameter(
            "an external id goes with a role: give --role-arn too", param_hint="--external-id"
        )
    account = Account(account_id, name, contacts, language, channels, role_arn, external_id, regions, "cli")
    with app.engine.begin() as conn:
        existing = find_account(conn, account_id)
        if existing is not None and existing.source == "config":
            raise ConfigError(f"account {account_id} is configured in [[accounts]]: change it there")
        new = save_account(conn, account, now=app.now())
    echo(f"{'added' if new else 'updated'} {account_id} ({name})")


@accounts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per account, one per line.")
@pass_app
def list_command(app: App, as_json: bool) -> None:
    """The registered accounts."""
    with app.engine.connect() as conn:
        registered = list_accounts(conn)
    if as_json:
        for account in registered:
            echo_json(account.as_json())
        return
    if not registered:
        echo("no accounts registered: `noticedesk accounts add ID --name NAME`, [[accounts]] or import-org")
        return
    table = Table(title=f"{len(registered)} account(s)")
    for column in ("account", "name", "lang", "channels", "role", "from"):
        table.add_column(column)
    for account in registered:
        table.add_row(
            account.account_id,
            escape(account.name),
            account.language,
            escape(", ".join(account.channels) or "(default)"),
            escape(account.role_arn or "-"),
            account.source,
        )
    app.console.print(table)


@accounts_group.command("show")
@click.argument("account_id", callback=_check_id)
@click.option("--json", "as_json", is_flag=True, help="The account as one JSON object.")
@pass_app
def show(app: App, account_id: str, as_json: bool) -> None:
    """One registered account."""
    with app.engine.connect() as conn:
        account = find_account(conn, account_id)
    if account is None:
        raise NotFoundError(f"account {account_id} is not in the registry")
    if as_json:
        echo_json(account.as_json())
        return
    rows = [
        ("account", account.account_id),
        ("name", account.name),
        ("contacts", ", ".join(account.contacts) or "-"),
        ("language", account.language),
        ("channels", ", ".join(account.channels) or "(default)"),
        ("role", account.role_arn or "-"),
        ("external id", "set" if account.external_id else "-"),
        ("regions", ", ".join(account.regions) or "-"),
        ("from", account.source),
    ]
    for label, value in rows:
        echo(f"{label:<12} {value}")


@accounts_group.command("remove")
@click.argument("account_id", callback=_check_id)
@pass_app
def remove(app: App, account_id: str) -> None:
    """Take ACCOUNT_ID out of the registry (its cases stay)."""
    with app.engine.begin() as conn:
        existing = find_account(conn, account_id)
        if existing is not None and existing.source == "config":
            raise ConfigError(f"account {account_id} is configured in [[accounts]]: remove it there")
        removed = remove_account(conn, account_id)
    echo(f"removed {account_id} ({removed.name})")


@accounts_group.command("import-org")
@click.option("--profile", help="AWS profile of the organization's management account.")
@pass_app
def import_org(app: App, profile: str | None) -> None:
    """Register the member accounts AWS Organizations lists (ListAccounts)."""
    from noticedesk.accounts.organizations import import_accounts, organization_accounts

    listed = organization_accounts(app.clients(profile=profile).client("organizations"))
    with app.engine.begin() as conn:
        report = import_accounts(conn, listed, now=app.now())
    echo(
        f"{len(listed)} account(s) in the organization: {len(report.added)} added, "
        f"{len(report.renamed)} renamed, {len(report.kept)} kept as registered, "
        f"{len(report.skipped)} not active"
    )
    for account_id in report.added:
        echo(f"  added {account_id}")


COMMANDS = [accounts_group]
