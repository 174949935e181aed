"""``noticedesk ses …``: the SES feedback loop (ingest, suppressed, check, rates, alarms, serve, sync…)."""

from __future__ import annotations

import csv
import sys
from datetime import timedelta

import click
from rich.markup import escape
from rich.table import Table

from noticedesk.cli import App, pass_app
from noticedesk.cli.progress import progress
from noticedesk.cli.render import echo, echo_json
from noticedesk.cli.ses_alarms import alarms_group, echo_check
from noticedesk.feedback.alarm_state import check_alarms
from noticedesk.feedback.alarms import Thresholds, evaluate
from noticedesk.feedback.events import normalise_address
from noticedesk.feedback.files import import_files
from noticedesk.feedback.rates import NO_CREDENTIALS, cloudwatch_rates, local_rates
from noticedesk.feedback.sqs import SqsConsumer
from noticedesk.feedback.suppressions import COLUMNS, find_suppression, list_suppressions
from noticedesk.feedback.sync import Throttle, import_suppressions, push_suppressions
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.queues.consumer import region_of_queue


@click.group("ses")
def ses_group() -> None:
    """The SES feedback loop: bounces and complaints → suppression list, rates, alarms."""


@ses_group.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@pass_app
def ingest_command(app: App, paths: tuple[str, ...]) -> None:
    """Import JSON lines: bare SES notifications, event records or SNS envelopes; - reads stdin.

    Every readable file is imported; a file that cannot be opened and a bad line are named on
    stderr, and the exit code is then 1.
    """
    now = app.now()
    with progress(app.console, app.console.is_terminal, "events read") as advance:
        outcome = import_files(app.engine, paths, app.config.ses, now, progress=advance)
    for line in outcome.bad_lines:
        echo(f"skipped {line}", err=True)
    result = outcome.result
    click.echo(
        f"{result.documents} document(s), {result.events} event(s), {result.new_events} new, "
        f"{result.duplicate_documents} duplicate SNS message(s), "
        f"{result.addresses_decided} address(es) decided, {len(outcome.bad_lines)} bad line(s)"
    )
    echo_check(app, check_alarms(app.engine, app.config.ses, now=now), now)
    if outcome.bad_lines:
        sys.exit(1)


@ses_group.command("suppressed")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per address, one per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line.")
@click.option(
    "--all", "include_inactive", is_flag=True, help="Also addresses with history but not suppressed."
)
@pass_app
def suppressed_command(app: App, as_json: bool, as_csv: bool, include_inactive: bool) -> None:
    """The local suppression list: addresses not to mail, with why and since when."""
    now = app.now()
    with app.engine.connect() as connection:
        rows = [item.to_json(now) for item in list_suppressions(connection, now, include_inactive)]
    if as_json:
        for row in rows:
            echo_json(row)
        return
    if as_csv:  # every column, lists joined with ";"
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {name: ";".join(value) if isinstance(value, list) else value for name, value in row.items()}
            )
        return
    table = Table(title=f"{len(rows)} address(es)")
    for column in ("address", "suppressed", "cause", "reasons", "last event", "expires", "at SES"):
        table.add_column(column, overflow="fold" if column == "address" else "ellipsis")  # never cut
    for row in rows:
        table.add_row(
            escape(row["address"]),
            "yes" if row["suppressed"] else "no",
            row["cause"] or ("flagged" if row["flagged"] else "-"),
            ", ".join(row["reasons"]),
            (row["last_event_at"] or "-")[:19],
            (row["expires_at"] or "never")[:19] if row["suppressed"] else "-",
            "yes" if row["at_ses"] else "no",
        )
    app.console.print(table)


@ses_group.command("check")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="The address's record as one JSON object.")
@pass_app
def check_command(app: App, address: str, as_json: bool) -> None:
    """May ADDRESS be mailed? Exit 1 when it is suppressed."""
    normalised = normalise_address(address)
    if normalised is None:
        raise click.BadParameter(f"{address!r} is not an e-mail address", param_hint="ADDRESS")
    now = app.now()
    with app.engine.connect() as connection:
        found = find_suppression(connection, normalised)
    record = found.to_json(now) if found else {"address": normalised, "suppressed": False}
    if as_json:
        echo_json(record)
    elif found is None:
        click.echo(f"{normalised}: not suppressed (no bounce or complaint on record)")
    elif record["suppressed"]:
        until = f" until {found.expires_at.isoformat()}" if found.expires_at else ""
        click.echo(f"{normalised}: SUPPRESSED ({found.cause}: {', '.join(found.reasons)}){until}")
    else:
        flagged = ""
        if found.flagged:  # say how close repeated Undetermined bounces bring it to a suppression
            ses = app.config.ses
            flagged = (
                f"; flagged: {found.undetermined_count} Undetermined bounce(s), "
                f"{ses.undetermined_escalate_after} within {ses.transient_window_days:g} days suppress it"
            )
        click.echo(f"{normalised}: not suppressed ({', '.join(found.reasons) or 'no reason'}){flagged}")
    if record["suppressed"]:
        sys.exit(1)


@ses_group.command("rates")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per scope, one per line.")
@click.option("--cloudwatch/--no-cloudwatch", default=True, help="Also SES's own Reputation.* metrics.")
@pass_app
def rates_command(app: App, as_json: bool, cloudwatch: bool) -> None:
    """Bounce and complaint rates over the window, ours and (when credentials allow) SES's.

    Read only: the alarms the rates would raise are shown; `ses alarms check` raises them.
    """
    now = app.now()
    ses = app.config.ses
    with app.engine.connect() as connection:
        rates = local_rates(connection, now, timedelta(days=ses.rate_window_days))
    alarms = evaluate(rates, Thresholds.from_config(ses))
    reputation = cloudwatch_rates(app.clients(), ses.regions, now) if cloudwatch else []
    if as_json:
        for rate in rates:
            echo_json(rate.to_json())
        for item in reputation:
            echo_json(item.to_json())
        for alarm in alarms:
            echo_json({"alarm": alarm.to_json()})
        return
    table = Table(title=f"rates over {ses.rate_window_days:g} days (hard bounces / complaints per recipient)")
    for column in ("scope", "key", "sent", "bounce rate", "complaint rate"):
        table.add_column(column, overflow="fold" if column == "key" else "ellipsis")  # a key is never cut
    for rate in rates:
        table.add_row(
            rate.scope,
            escape(rate.key),
            f"{rate.denominator} ({rate.denominator_source})",
            _percent(rate.bounce_rate),
            _percent(rate.complaint_rate),
        )
    skipped = [item for item in reputation if item.error == NO_CREDENTIALS]
    for item in (item for item in reputation if item not in skipped):
        table.add_row(
            "cloudwatch",
            item.region,
            "-",
            _percent(item.bounce_rate) if not item.error else "error",
            _percent(item.complaint_rate) if not item.error else (item.error or "")[:60],
        )
    app.console.print(table)
    for alarm in alarms:
        app.console.print(
            f"[{'red' if alarm.level == 'critical' else 'yellow'}]alarm: {escape(alarm.sentence)}[/]"
        )
    if skipped:
        app.console.print(
            f"authoritative rates skipped: {NO_CREDENTIALS} (SES's Reputation.* metrics in CloudWatch "
            "need them; --no-cloudwatch does not ask)"
        )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


@ses_group.command("consume")
@click.option("--queue-url", required=True, help="The SQS queue SNS delivers SES feedback to.")
@click.option("--once", is_flag=True, help="One long poll, then exit.")
@click.option("--region", default=None, help="Region of the queue (default: from the URL).")
@pass_app
def consume_command(app: App, queue_url: str, once: bool, region: str | None) -> None:
    """Consume SES feedback from SQS: long polling, delete only after commit."""
    queue_region = region or region_of_queue(queue_url)
    consumer = SqsConsumer(
        app.engine,
        app.clients().client("sqs", queue_region),
        queue_url,
        PolicySettings.from_config(app.config.ses),
        app.now,
    )
    result = consumer.run(max_polls=1 if once else None)
    click.echo(
        f"{result.received} received, {result.new_events} new event(s), {result.deleted} deleted, "
        f"{result.bad} not feedback"
    )


@ses_group.command("sync")
@click.option("--import", "import_", is_flag=True, help="Import the SES account-level list instead.")
@click.option("--region", default=None, help="SES region (default: the first of [ses] regions).")
@pass_app
def sync_command(app: App, import_: bool, region: str | None) -> None:
    """Push suppressions for good to the SES account-level suppression list (or import it)."""
    ses = app.config.ses
    sesv2 = app.clients().client("sesv2", region or ses.regions[0])
    throttle = Throttle(ses.sync_calls_per_second)
    if import_:
        result = import_suppressions(app.engine, sesv2, app.now(), throttle)
        click.echo(f"{result.imported} address(es) imported from SES")
        return
    result = push_suppressions(app.engine, sesv2, app.now(), throttle)
    click.echo(f"{result.pushed} address(es) pushed to SES, {len(result.failed)} failed")
    if result.failed:
        sys.exit(1)


def _attach_serve() -> None:
    """``noticedesk ses serve`` is the same server as ``noticedesk serve``, listed where SES senders
    look for it. Attached here: commands load on first use, so ``ses`` must bring it itself."""
    from noticedesk.cli.serve import serve_command

    ses_group.add_command(serve_command, "serve")


_attach_serve()
ses_group.add_command(alarms_group, "alarms")

COMMANDS = [ses_group]
