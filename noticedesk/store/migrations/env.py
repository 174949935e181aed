"""Alembic environment: always run with a connection handed over by ``store.db.migrate``."""

from __future__ import annotations

from alembic import context

from noticedesk.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through noticedesk.store.db.migrate(engine)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
