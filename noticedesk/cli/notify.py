"""``noticedesk notifications`` (the outbox) and ``noticedesk notify test|retry|send``."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from noticedesk.cli import App, pass_app
from noticedesk.cli.params import RowId
from noticedesk.cli.render import echo, echo_json, short_time
from noticedesk.errors import DeliveryError

NOTIFICATION_ID = RowId("notification id")


@click.command("notifications")
@click.option(
    "--failed", "failed_only", is_flag=True, help="Only those given up on (then `notify retry ID`)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per notification, one per line.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@pass_app
def notifications(app: App, failed_only: bool, as_json: bool, limit: int) -> None:
    """The notifications outbox, newest first: sent, waiting to be retried, failed."""
    from noticedesk.accounts.registry import account_names
    from noticedesk.notify.outbox import list_rows

    with app.engine.connect() as conn:
        rows = list_rows(conn, failed_only=failed_only, limit=limit)
        names = account_names(conn, [row.account_id for row in rows])
    if as_json:
        for row in rows:
            echo_json(
                {
                    "id": row.id,
                    "kind": row.kind,
                    "channel": row.channel,
                    "case_id": row.case_id,
                    "account_id": row.account_id,
                    "account_name": names.get(row.account_id or ""),
                    "status": row.status,
                    "tries": row.tries,
                    "created_at": row.created_at.isoformat(),
                    "next_attempt_at": row.next_attempt_at.isoformat() if row.status == "pending" else None,
                    "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                    "last_error": row.last_error,
                    "dedupe_key": row.dedupe_key,
                }
            )
        return
    if not rows:
        echo("no failed notifications" if failed_only else "no notifications yet")
        return
    table = Table(title=f"{len(rows)} notification(s)" + (" given up on" if failed_only else ""))
    for column in (
        "id",
        "queued",
        "event",
        "channel",
        "case",
        "account",
        "status",
        "tries",
        "next / sent",
        "error",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        account = row.account_id or "-"
        if row.account_id in names:
            account = f"{names[row.account_id]} ({row.account_id})"
        when = (
            row.sent_at
            if row.status == "sent"
            else (row.next_attempt_at if row.status == "pending" else None)
        )
        style = {"failed": "bold red", "pending": "yellow", "sent": "green"}.get(row.status, "")
        table.add_row(
            str(row.id),
            short_time(row.created_at, app.tz),
            row.kind,
            escape(row.channel),
            row.case_id or "-",
            escape(account),
            f"[{style}]{row.status}[/]" if style else row.status,
            str(row.tries),
            short_time(when, app.tz),
            escape(row.last_error or ""),
        )
    app.console.print(table)


@click.group("notify")
def notify_group() -> None:
    """Try a notification channel, retry a failed notification, send what is due."""


@notify_group.command("test")
@click.argument("channel")
@click.option("--lang", type=click.Choice(["en", "ja"]), default=None, help="Default: [notify] language.")
@pass_app
def test(app: App, channel: str, lang: str | None) -> None:
    """Send a test message to CHANNEL (a [notify.channels] name) now; exit 1 if it fails."""
    from noticedesk.notify.channels.build import build_channel
    from noticedesk.notify.messages import render

    built = build_channel(app.config.notify, channel, clock=app.now)
    now = app.now()
    message = render(
        "test",
        {"channel": channel},
        language=lang or app.config.notify.language,
        now=now,
        case_id=None,
        account_id=None,
        delivery_id=f"test-{int(now.timestamp())}",
        dedupe_key=f"test:{channel}:{now.isoformat()}",
    )
    try:
        built.send(message)
    except DeliveryError as error:
        echo(f"not delivered: {error}", err=True)
        raise click.exceptions.Exit(1) from None
    echo(f"sent a test message to {channel}")


@notify_group.command("retry")
@click.argument("notification_id", type=NOTIFICATION_ID)
@pass_app
def retry(app: App, notification_id: int) -> None:
    """Make notification NOTIFICATION_ID due again with a fresh count of tries."""
    from noticedesk.notify.outbox import retry as retry_row

    with app.engine.begin() as conn:
        row = retry_row(conn, notification_id, now=app.now())
    echo(f"notification {row.id} ({row.kind} to {row.channel}) is due again: the next send pass takes it")


@notify_group.command("send")
@pass_app
def send(app: App) -> None:
    """Send the notifications that are due now (what `noticedesk watch` does on every pass)."""
    from noticedesk.notify.sending import Sender

    with Sender(app.engine, app.config.notify, clock=app.now) as sender:
        report = sender.send_due(app.now())
    echo(f"{len(report.sent)} sent, {len(report.retrying)} to retry, {len(report.failed)} failed")
    if report.failed:
        raise click.exceptions.Exit(1)


COMMANDS = [notifications, notify_group]
