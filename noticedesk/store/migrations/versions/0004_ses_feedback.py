"""SES feedback loop: SNS messages seen, events, suppressions, send counters, alarms.

Revision ID: 0004_ses_feedback
Revises: 0003_actions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0004_ses_feedback"
down_revision = "0003_actions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ses_feedback_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("topic_arn", sa.String(300)),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ses_feedback_messages"),
        sa.UniqueConstraint("message_key", name="uq_ses_feedback_messages_message_key"),
    )
    op.create_table(
        "ses_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dedupe_key", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(24), nullable=False),
        sa.Column("address", sa.String(320)),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("feedback_id", sa.String(200)),
        sa.Column("ses_message_id", sa.String(200)),
        sa.Column("bounce_type", sa.String(20)),
        sa.Column("bounce_sub_type", sa.String(40)),
        sa.Column("complaint_type", sa.String(40)),
        sa.Column("complaint_sub_type", sa.String(40)),
        sa.Column("diagnostic", sa.Text),
        sa.Column("account_id", sa.String(12)),
        sa.Column("region", sa.String(32)),
        sa.Column("identity", sa.String(320)),
        sa.Column("configuration_set", sa.String(128)),
        sa.Column("sns_message_id", sa.String(100)),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ses_events"),
        sa.UniqueConstraint("dedupe_key", name="uq_ses_events_dedupe_key"),
    )
    op.create_index("ix_ses_events_address", "ses_events", ["address"])
    op.create_table(
        "ses_suppressions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("suppressed", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(20)),
        sa.Column("cause", sa.String(40)),
        sa.Column("expires_at", UtcDateTime()),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("first_event_at", UtcDateTime()),
        sa.Column("last_event_at", UtcDateTime()),
        sa.Column("hard_bounce_count", sa.Integer, nullable=False),
        sa.Column("soft_bounce_count", sa.Integer, nullable=False),
        sa.Column("complaint_count", sa.Integer, nullable=False),
        sa.Column("undetermined_count", sa.Integer, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("source_message_ids", sa.JSON, nullable=False),
        sa.Column("at_ses", sa.Boolean, nullable=False),
        sa.Column("synced_at", UtcDateTime()),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ses_suppressions"),
        sa.UniqueConstraint("address", name="uq_ses_suppressions_address"),
    )
    op.create_table(
        "ses_send_counts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("bucket_start", UtcDateTime(), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("identity", sa.String(320), nullable=False),
        sa.Column("configuration_set", sa.String(128), nullable=False),
        sa.Column("sends", sa.Integer, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("hard_bounces", sa.Integer, nullable=False),
        sa.Column("soft_bounces", sa.Integer, nullable=False),
        sa.Column("complaints", sa.Integer, nullable=False),
        sa.Column("rejects", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ses_send_counts"),
        sa.UniqueConstraint(
            "bucket_start",
            "account_id",
            "region",
            "identity",
            "configuration_set",
            name="uq_ses_send_counts_bucket_scope",
        ),
    )
    op.create_table(
        "ses_alarms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alarm_key", sa.String(400), nullable=False),
        sa.Column("raised_at", UtcDateTime(), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("metric", sa.String(20), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("scope_key", sa.String(320), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", name="fk_ses_alarms_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name="pk_ses_alarms"),
        sa.UniqueConstraint("alarm_key", name="uq_ses_alarms_alarm_key"),
    )


def downgrade() -> None:
    for table in ("ses_alarms", "ses_send_counts", "ses_suppressions", "ses_events", "ses_feedback_messages"):
        op.drop_table(table)
