"""``noticedesk watch``: file mail and Health events as they arrive, run the clocks, notify."""

from __future__ import annotations

import click

from noticedesk.cli import App, pass_app


@click.command()
@click.option("--once", is_flag=True, help="One pass over every source, send the outbox, exit.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One log line per event on stderr: key=value text, or one JSON object a line.",
)
@click.option("--verbose", is_flag=True, help="Log what the rest of NoticeDesk does too.")
@pass_app
def watch(app: App, once: bool, log_format: str, verbose: bool) -> None:
    """Watch the mailbox, Maildirs and Health queue of [watch]: file what arrives, run the clocks, notify.

    Runs until SIGTERM or Ctrl-C (the batch in hand is finished and committed; exit 0). With
    --once, one pass and exit: 0, or 1 when a source could not be read (it is tried next time).
    """
    from noticedesk.queues.consumer import region_of_queue
    from noticedesk.watch.build import build_watcher
    from noticedesk.watch.logs import configure

    configure("json" if log_format == "json" else "text", verbose)
    watcher = build_watcher(
        app.engine,
        app.config,
        app.now,
        sqs_client=lambda url: app.clients().client("sqs", region_of_queue(url)),
        aws_clients=lambda: app.clients(default_role=app.config.diagnose.role_name),
    )
    if once:
        try:
            report = watcher.run_once()
        finally:
            watcher.close()
        raise SystemExit(1 if report.source_errors else 0)
    watcher.run()


COMMANDS = [watch]
