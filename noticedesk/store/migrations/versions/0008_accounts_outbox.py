"""The accounts registry and the notifications outbox.

Revision ID: 0008_accounts_outbox
Revises: 0007_action_claims

``accounts``: account id → name, owner contacts, language, notification channels, the role to
assume there (and its external id), regions. ``outbox``: one row per (event, channel), unique on
that pair so an event enqueued twice is sent once; ``deliver_due`` claims due rows, sends them and
retries with backoff until ``failed``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0008_accounts_outbox"
down_revision = "0007_action_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("contacts", sa.JSON, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("channels", sa.JSON, nullable=False),
        sa.Column("role_arn", sa.String(2048)),
        sa.Column("external_id", sa.String(1224)),
        sa.Column("regions", sa.JSON, nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("dedupe_key", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(40)),
        sa.Column("account_id", sa.String(12)),
        sa.Column("language", sa.String(2)),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claim_until", UtcDateTime()),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe_key", "channel", name="uq_outbox_dedupe_key_channel"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("accounts")
