"""Web dashboard: local users (Argon2 hashes, role, language, time zone) and the session key.

Revision ID: 0010_web_users
Revises: 0009_queue_dead_letters
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0010_web_users"
down_revision = "0009_queue_dead_letters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("lang", sa.String(2)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("session_version", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "web_keys",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_web_keys"),
    )


def downgrade() -> None:
    op.drop_table("web_keys")
    op.drop_table("users")
