"""Actions of the fixes: the audit trail.

Revision ID: 0003_actions
Revises: 0002_findings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0003_actions"
down_revision = "0002_findings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", name="fk_actions_case_id_cases"), nullable=False
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("resource_type", sa.String(40), nullable=False),
        sa.Column("resource_id", sa.String(300), nullable=False),
        sa.Column("region", sa.String(32)),
        sa.Column("account_id", sa.String(12)),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("calls", sa.JSON, nullable=False),
        sa.Column("undo", sa.JSON, nullable=False),
        sa.Column("undo_note", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(200)),
        sa.Column("override", sa.JSON),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("undo_result", sa.JSON),
        sa.Column("planned_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime()),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("undone_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_actions"),
        sa.UniqueConstraint("case_id", "number", name="uq_actions_case_number"),
    )
    op.create_index("ix_actions_case_id", "actions", ["case_id"])


def downgrade() -> None:
    op.drop_table("actions")
