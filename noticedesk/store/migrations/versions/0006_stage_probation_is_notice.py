"""Stages: "probation" is AWS's older name for the SES review, stage ``notice``.

Revision ID: 0006_stage_probation_is_notice
Revises: 0005_ses_event_keys

The stage ``probation`` is gone from the vocabulary (the stages that replace its meaning are
``paused`` and ``appeal-refused``). Cases and messages stored with it are moved to ``notice``,
and so are the timeline events that recorded it (their ``detail.stage`` and summary prefix).
A downgrade leaves them as ``notice``: which of them were ``probation`` is not kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_stage_probation_is_notice"
down_revision = "0005_ses_event_keys"
branch_labels = None
depends_on = None

_OLD, _NEW = "probation", "notice"


def upgrade() -> None:
    connection = op.get_bind()
    for name in ("cases", "messages"):
        table = sa.table(name, sa.column("stage", sa.String))
        connection.execute(sa.update(table).where(table.c.stage == _OLD).values(stage=_NEW))
    events = sa.table(
        "case_events",
        sa.column("id", sa.Integer),
        sa.column("summary", sa.Text),
        sa.column("detail", sa.JSON),
    )
    # A notice's event summary is "<stage>: <title>": only those can name the old stage.
    rows = connection.execute(
        sa.select(events.c.id, events.c.summary, events.c.detail).where(events.c.summary.like(f"{_OLD}:%"))
    ).all()
    for event_id, summary, detail in rows:
        if not isinstance(detail, dict) or detail.get("stage") != _OLD:
            continue
        connection.execute(
            sa.update(events)
            .where(events.c.id == event_id)
            .values(summary=_NEW + summary[len(_OLD) :], detail={**detail, "stage": _NEW})
        )


def downgrade() -> None:
    """Nothing to undo: ``notice`` is a stage every revision knows."""
