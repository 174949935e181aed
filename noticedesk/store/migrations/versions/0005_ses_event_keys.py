"""SES feedback: sends, deliveries, opens and clicks kept as dedupe keys, not rows.

Revision ID: 0005_ses_event_keys
Revises: 0004_ses_feedback

The keys of such events already stored are copied into ``ses_event_keys``, so feedback sent
again after the upgrade is still recognised and never counted twice. Their rows stay in
``ses_events`` (nothing is deleted; nothing reads them either). A downgrade drops the keys:
events of those types ingested after the upgrade would then be counted again if sent again.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0005_ses_event_keys"
down_revision = "0004_ses_feedback"
branch_labels = None
depends_on = None

_BATCH = 5_000

# Frozen copies of what feedback/store.py (now feedback/ingest.py) did when this revision was
# written: the migration keeps producing these keys whatever the live code becomes.
COUNTED_ONLY = frozenset({"send", "delivery", "open", "click"})


def counted_key(digest: bytes, feedback_id: str | None, occurred_at: datetime) -> bytes:
    """4 bytes of the event's hour (0 when it has a feedbackId), then its digest."""
    hour = int(occurred_at.timestamp()) // 3600 if feedback_id is None else 0
    return max(hour, 0).to_bytes(4, "big") + digest


def upgrade() -> None:
    keys = op.create_table(
        "ses_event_keys",
        sa.Column("event_key", sa.LargeBinary(24), nullable=False),
        sa.PrimaryKeyConstraint("event_key", name="pk_ses_event_keys"),
        sqlite_with_rowid=False,
    )
    events = sa.table(
        "ses_events",
        sa.column("dedupe_key", sa.String),
        sa.column("event_type", sa.String),
        sa.column("feedback_id", sa.String),
        sa.column("occurred_at", UtcDateTime()),
    )
    connection = op.get_bind()
    selected = (
        sa.select(events.c.dedupe_key, events.c.feedback_id, events.c.occurred_at)
        .where(events.c.event_type.in_(sorted(COUNTED_ONLY)))
        .execution_options(yield_per=_BATCH)
    )
    rows = connection.execute(selected)
    for batch in rows.partitions():
        # Every row of the old table is in hex sha1 form, unique: so are the keys.
        values = [
            {"event_key": counted_key(bytes.fromhex(dedupe_key), feedback_id, occurred_at)}
            for dedupe_key, feedback_id, occurred_at in batch
        ]
        connection.execute(sa.insert(keys), values)


def downgrade() -> None:
    op.drop_table("ses_event_keys")
