"""``noticedesk serve``: the web app (dashboard, JSON API, SNS webhook at POST /webhooks/sns)."""

from __future__ import annotations

import click

from noticedesk.cli import App, pass_app


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@pass_app
def serve_command(app: App, host: str, port: int, workers: int) -> None:
    """Serve the web app: the dashboard, the JSON API and the SNS webhook."""
    from noticedesk.web.server import serve

    serve(app.db_url, app.config, host, port, workers, announce=click.echo)


COMMANDS = [serve_command]
