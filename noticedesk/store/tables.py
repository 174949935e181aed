"""The schema, as SQLAlchemy Core tables. Alembic migrations in ``migrations/`` create it.

Every table a feature adds goes here and into a new migration of its own.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from noticedesk.store.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_key", String(300), nullable=False, unique=True),
    Column("account_id", String(12)),
    Column("kind", String(40), nullable=False),
    Column("case_ref", String(64)),
    Column("stage", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("authenticity", String(20), nullable=False),
    Column("facts", JSON, nullable=False),
    Column("reply_by", UtcDateTime()),
    Column("enforcement_at", UtcDateTime()),
    Column("last_notice_at", UtcDateTime()),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
Index("ix_cases_account_kind", cases.c.account_id, cases.c.kind)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(300), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("source_index", Integer),
    Column("format", String(20), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("message_id", String(300)),
    Column("from_address", String(320)),
    Column("forwarded_by", String(320)),
    Column("subject", Text),
    Column("kind", String(40)),
    Column("stage", String(20)),
    Column("rule_id", String(80)),
    Column("authenticity", String(20)),
    Column("authenticity_reasons", JSON),
    Column("facts", JSON),
    Column("error", Text),
    Column("case_id", Integer, ForeignKey("cases.id")),
)
Index("ix_messages_message_id", messages.c.message_id)
Index("ix_messages_case_id", messages.c.case_id)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("type", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("detail", JSON, nullable=False),
)
Index("ix_case_events_case_id", case_events.c.case_id)

checklist_items = Table(
    "checklist_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("item_key", String(80), nullable=False),
    Column("position", Integer, nullable=False),
    Column("text_en", Text, nullable=False),
    Column("text_ja", Text, nullable=False),
    Column("done_at", UtcDateTime()),
    Column("done_by", String(200)),
    UniqueConstraint("case_id", "item_key", name="uq_checklist_items_case_item"),
)

# Diagnosis: one row per finding (check x resource); a run is one `noticedesk diagnose`.
findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(40), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("check", String(80), nullable=False),
    Column("status", String(10), nullable=False),  # fail | pass | error
    Column("severity", String(10), nullable=False),  # critical | high | medium | low | info
    Column("account_id", String(12)),
    Column("region", String(32)),
    Column("resource_id", String(300)),
    Column("detail", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("found_at", UtcDateTime(), nullable=False),
)
Index("ix_findings_case_id", findings.c.case_id)

# Fixes: one row per planned action on a case; the audit trail of who changed what, before and after.
actions = Table(
    "actions",
    metadata,
    Column("id", String(40), primary_key=True),  # A-<case>-<n>
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("action", String(60), nullable=False),
    Column("resource_type", String(40), nullable=False),
    Column("resource_id", String(300), nullable=False),
    Column("region", String(32)),
    Column("account_id", String(12)),
    Column("summary", Text, nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("params", JSON, nullable=False),
    Column("calls", JSON, nullable=False),  # planned, then the calls actually made
    Column("undo", JSON, nullable=False),
    Column("undo_note", Text, nullable=False),
    Column("status", String(20), nullable=False),  # planned | applied | failed | undone | refused
    Column("requested_by", String(200)),
    Column("override", JSON),
    Column("before", JSON),
    Column("after", JSON),
    Column("verified", Boolean, nullable=False, default=False),
    Column("error", Text),
    Column("undo_result", JSON),
    Column("planned_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),  # the intent, written before the first call
    Column("finished_at", UtcDateTime()),
    Column("undone_at", UtcDateTime()),
    UniqueConstraint("case_id", "number", name="uq_actions_case_number"),
)
Index("ix_actions_case_id", actions.c.case_id)
