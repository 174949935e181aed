"""Actions: who holds an action now (host, pid, lease), the undo's own claim, re-applied actions.

Revision ID: 0007_action_claims
Revises: 0006_stage_probation_is_notice

``claim_host``/``claim_pid``/``claim_until`` name the process applying or undoing an action and
until when its lease runs: a run started elsewhere is "interrupted" only once that lease ran out
(or, on the same host, once the process is gone). ``undo_started_at`` makes the undo intent a
compare-and-set claim as ``started_at`` is for the apply. ``supersedes`` links an action planned
again because the resource was found changed back to the applied one it repeats.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0007_action_claims"
down_revision = "0006_stage_probation_is_notice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("claim_host", sa.String(255)))
        batch.add_column(sa.Column("claim_pid", sa.Integer))
        batch.add_column(sa.Column("claim_until", UtcDateTime()))
        batch.add_column(sa.Column("undo_started_at", UtcDateTime()))
        batch.add_column(sa.Column("supersedes", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        for column in ("supersedes", "undo_started_at", "claim_until", "claim_pid", "claim_host"):
            batch.drop_column(column)
