"""``noticedesk worker``: consume the SQS queues; ``noticedesk dead-letters``: what it could not process."""

from __future__ import annotations

import click
from rich.table import Table

from noticedesk.cli import App, pass_app
from noticedesk.cli.render import echo_json, short_time
from noticedesk.queues.deadletters import list_dead_letters
from noticedesk.worker.setup import QUEUES, run_worker


@click.command("worker")
@click.option(
    "--queues",
    "only",
    default=",".join(QUEUES),
    show_default=True,
    help="Which configured queues to consume (comma-separated: ses, health, mail).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65_535),
    default=None,
    help="Serve /healthz, /readyz and /metrics on this port ([worker] metrics_port; 0: any free port).",
)
@click.option("--drain", is_flag=True, help="Exit once every queue is empty, messages in flight included.")
@pass_app
def worker_command(app: App, only: str, metrics_port: int | None, drain: bool) -> None:
    """Consume SES feedback, AWS Health events and notice mails from SQS ([worker] in the config).

    Run as many as you like, on any hosts, against one PostgreSQL store. SIGTERM finishes the
    batch in hand, commits it and exits 0. Poison messages are kept with the reason
    (`noticedesk dead-letters`).
    """
    chosen = [name.strip() for name in only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown:
        raise click.BadParameter(
            f"unknown queue {', '.join(unknown)} (ses, health, mail)", param_hint="--queues"
        )
    run_worker(
        app.engine,
        app.config,
        app.now,
        app.clients(),
        only=chosen,
        metrics_port=metrics_port,
        drain=drain,
        announce=lambda line: click.echo(line, err=True),
    )


@click.command("dead-letters")
@click.option("--queue", type=click.Choice(QUEUES), default=None, help="Only this queue's.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message (body included).")
@pass_app
def dead_letters_command(app: App, queue: str | None, limit: int, as_json: bool) -> None:
    """SQS messages the worker could not process, newest first, with the reason."""
    letters = list_dead_letters(app.engine, queue, limit)
    if as_json:
        for letter in letters:
            echo_json(letter.to_json())
        return
    table = Table(title=f"{len(letters)} dead letter(s)")
    for column in ("when", "queue", "message", "receives", "reason"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            short_time(letter.dead_at, app.tz),
            letter.queue,
            letter.message_id,
            str(letter.receive_count),
            letter.reason,
        )
    app.console.print(table)


COMMANDS = [worker_command, dead_letters_command]
