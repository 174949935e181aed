"""Cases, the messages behind them, their timeline and checklist.

Revision ID: 0001_cases
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0001_cases"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_key", sa.String(300), nullable=False),
        sa.Column("account_id", sa.String(12)),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("case_ref", sa.String(64)),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("authenticity", sa.String(20), nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("reply_by", UtcDateTime()),
        sa.Column("enforcement_at", UtcDateTime()),
        sa.Column("last_notice_at", UtcDateTime()),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("case_key", name="uq_cases_case_key"),
    )
    op.create_index("ix_cases_account_kind", "cases", ["account_id", "kind"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dedupe_key", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_index", sa.Integer),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("message_id", sa.String(300)),
        sa.Column("from_address", sa.String(320)),
        sa.Column("forwarded_by", sa.String(320)),
        sa.Column("subject", sa.Text),
        sa.Column("kind", sa.String(40)),
        sa.Column("stage", sa.String(20)),
        sa.Column("rule_id", sa.String(80)),
        sa.Column("authenticity", sa.String(20)),
        sa.Column("authenticity_reasons", sa.JSON),
        sa.Column("facts", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", name="fk_messages_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.UniqueConstraint("dedupe_key", name="uq_messages_dedupe_key"),
    )
    op.create_index("ix_messages_message_id", "messages", ["message_id"])
    op.create_index("ix_messages_case_id", "messages", ["case_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id",
            sa.Integer,
            sa.ForeignKey("cases.id", name="fk_case_events_case_id_cases"),
            nullable=False,
        ),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "checklist_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id",
            sa.Integer,
            sa.ForeignKey("cases.id", name="fk_checklist_items_case_id_cases"),
            nullable=False,
        ),
        sa.Column("item_key", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text_en", sa.Text, nullable=False),
        sa.Column("text_ja", sa.Text, nullable=False),
        sa.Column("done_at", UtcDateTime()),
        sa.Column("done_by", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_checklist_items"),
        sa.UniqueConstraint("case_id", "item_key", name="uq_checklist_items_case_item"),
    )


def downgrade() -> None:
    op.drop_table("checklist_items")
    op.drop_table("case_events")
    op.drop_table("messages")
    op.drop_table("cases")
