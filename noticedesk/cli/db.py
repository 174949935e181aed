"""``noticedesk db upgrade``: bring the store's schema to this version's, before new workers start."""

from __future__ import annotations

import click

from noticedesk.cli import App, pass_app


@click.group("db")
def db_group() -> None:
    """The store's schema: upgrade it before starting workers of a newer version."""


@db_group.command("upgrade")
@pass_app
def upgrade_command(app: App) -> None:
    """Apply the migrations this version ships (waits while another process migrates)."""
    from noticedesk.store.db import current_revision, make_engine, masked_url, migrate

    engine = make_engine(app.db_url)
    try:
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    where = masked_url(app.db_url)
    if before == after:
        click.echo(f"{where}: schema already at {after}")
    else:
        click.echo(f"{where}: schema upgraded from {before or 'empty'} to {after}")


COMMANDS = [db_group]
