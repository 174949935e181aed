"""``noticedesk ses alarms …``: raise and clear the rate alarms (``check``), list the raised ones."""

from __future__ import annotations

from datetime import datetime

import click
from rich.markup import escape
from rich.table import Table

from noticedesk.cases.queries import get_case
from noticedesk.cli import App, pass_app
from noticedesk.cli.render import echo, echo_json, short_time
from noticedesk.feedback.alarm_state import AlarmCheck, check_alarms, raised_alarms


@click.group("alarms")
def alarms_group() -> None:
    """Our own bounce and complaint rate alarms: raise and clear them, list the raised ones."""


@alarms_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alarm and per change.")
@pass_app
def check_command(app: App, as_json: bool) -> None:
    """Raise the critical alarms of the rates now (an early-warning case each) and clear those back
    under their threshold. Run it after imports, or every minute (`noticedesk watch` does)."""
    now = app.now()
    check = check_alarms(app.engine, app.config.ses, now=now)
    if as_json:
        for alarm in check.alarms:
            echo_json({"alarm": alarm.to_json()})
        for change in [*check.raised, *check.cleared]:
            echo_json({"change": change.to_json()})
        return
    echo_check(app, check, now)
    if not check.alarms and not check.cleared:
        click.echo("no alarm: every rate is under its thresholds (or has too few sends to judge)")


@alarms_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per raised alarm.")
@pass_app
def list_command(app: App, as_json: bool) -> None:
    """The alarms raised and not cleared since, with their case. Read only."""
    with app.engine.connect() as connection:
        raised = raised_alarms(connection)
    if as_json:
        for change in raised:
            echo_json(change.to_json())
        return
    table = Table(title=f"{len(raised)} raised alarm(s)")
    for column in ("alarm", "last raised", "case"):
        table.add_column(column, overflow="fold")
    for change in raised:
        table.add_row(escape(change.sentence), short_time(change.at, app.tz), str(change.case_id or "-"))
    app.console.print(table)


def echo_check(app: App, check: AlarmCheck, now: datetime) -> None:
    """Each alarm, each clearing, then each case the raised alarms opened or noted, once."""
    for alarm in check.alarms:
        echo(f"alarm: {alarm.sentence}")
    for change in check.cleared:
        echo(f"alarm cleared: {change.sentence}" + (f" (case {change.case_id})" if change.case_id else ""))
    for case_id in check.case_ids:
        case = get_case(app.engine, case_id).summary
        done = "opened" if case.opened_at == now else "updated"
        click.echo(f"early-warning case {case_id} {done}: {case.kind} for account {case.account_id or '-'}")
