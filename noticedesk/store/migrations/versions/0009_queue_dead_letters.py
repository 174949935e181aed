"""Queued inputs: SQS messages no worker could process, kept with the reason.

Revision ID: 0009_queue_dead_letters
Revises: 0008_accounts_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0009_queue_dead_letters"
down_revision = "0008_accounts_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_dead_letters",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("letter_key", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(20), nullable=False),
        sa.Column("queue_url", sa.String(1000), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("receive_count", sa.Integer, nullable=False),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("dead_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_queue_dead_letters"),
        sa.UniqueConstraint("letter_key", name="uq_queue_dead_letters_letter_key"),
    )


def downgrade() -> None:
    op.drop_table("queue_dead_letters")
