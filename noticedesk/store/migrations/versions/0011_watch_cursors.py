"""Watch cursors: per mailbox, its IMAP UIDVALIDITY and the last UID filed.

Revision ID: 0011_watch_cursors
Revises: 0010_web_users

``noticedesk watch`` reads only what lies past the cursor, so a mail is read once even when
moving or flagging it on the server failed; a new UIDVALIDITY starts the mailbox over (the
messages' dedupe keys keep what was filed from being filed twice).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from noticedesk.store.types import UtcDateTime

revision = "0011_watch_cursors"
down_revision = "0010_web_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_cursors",
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("uid_validity", sa.BigInteger, nullable=False),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_watch_cursors"),
    )


def downgrade() -> None:
    op.drop_table("watch_cursors")
