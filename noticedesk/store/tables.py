"""The schema, as SQLAlchemy Core tables. Alembic migrations in ``migrations/`` create it.

Every table a feature adds goes here and into a new migration of its own.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
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
    # The process applying or undoing it now, and until when its lease runs (0007).
    Column("claim_host", String(255)),
    Column("claim_pid", Integer),
    Column("claim_until", UtcDateTime()),
    Column("undo_started_at", UtcDateTime()),  # the undo intent, a claim as started_at is
    Column("supersedes", String(40)),  # the applied action this one repeats (changed back)
    UniqueConstraint("case_id", "number", name="uq_actions_case_number"),
)
Index("ix_actions_case_id", actions.c.case_id)

# SES feedback loop (noticedesk/feedback): SNS messages seen, one row per (event, recipient),
# the suppression list with its history, hourly counters for rates, alarms already raised.
ses_feedback_messages = Table(
    "ses_feedback_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_key", String(200), nullable=False, unique=True),  # "sns:<MessageId>"
    Column("topic_arn", String(300)),
    Column("source", Text, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

ses_events = Table(
    "ses_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(40), nullable=False, unique=True),  # sha1(feedback key | address)
    Column("event_type", String(24), nullable=False),
    Column("address", String(320)),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("feedback_id", String(200)),
    Column("ses_message_id", String(200)),
    Column("bounce_type", String(20)),
    Column("bounce_sub_type", String(40)),
    Column("complaint_type", String(40)),
    Column("complaint_sub_type", String(40)),
    Column("diagnostic", Text),
    Column("account_id", String(12)),
    Column("region", String(32)),
    Column("identity", String(320)),
    Column("configuration_set", String(128)),
    Column("sns_message_id", String(100)),
    Column("received_at", UtcDateTime(), nullable=False),
)
Index("ix_ses_events_address", ses_events.c.address)

# Sends, deliveries, opens and clicks are most of the feedback and nothing reads them one by one
# (rates read the hourly counters, the policy reads bounces and complaints): each is kept only as
# its dedupe key, so a redelivery is still recognised and never counted twice. The key starts
# with the event's hour (see feedback.ingest.counted_key): new keys land at the end of the index,
# so an insert costs the same in a table of a billion keys as in an empty one. WITHOUT ROWID on
# SQLite: the key is the table, no second B-tree.
ses_event_keys = Table(
    "ses_event_keys",
    metadata,
    Column("event_key", LargeBinary(24), primary_key=True),
    sqlite_with_rowid=False,
)

ses_suppressions = Table(
    "ses_suppressions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(320), nullable=False, unique=True),
    Column("suppressed", Boolean, nullable=False),
    Column("reason", String(20)),  # BOUNCE | COMPLAINT: the SES suppression reason
    Column("cause", String(40)),  # permanent-bounce | complaint | repeated-soft-bounce | ...
    Column("expires_at", UtcDateTime()),  # only for suppressions earned by soft bounces
    Column("flagged", Boolean, nullable=False),  # undetermined bounces seen
    Column("first_event_at", UtcDateTime()),
    Column("last_event_at", UtcDateTime()),
    Column("hard_bounce_count", Integer, nullable=False),
    Column("soft_bounce_count", Integer, nullable=False),
    Column("complaint_count", Integer, nullable=False),
    Column("undetermined_count", Integer, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("source_message_ids", JSON, nullable=False),
    Column("at_ses", Boolean, nullable=False),  # known to be on the SES account-level list
    Column("synced_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

ses_send_counts = Table(
    "ses_send_counts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bucket_start", UtcDateTime(), nullable=False),  # the hour
    Column("account_id", String(12), nullable=False),  # "" when unknown
    Column("region", String(32), nullable=False),
    Column("identity", String(320), nullable=False),
    Column("configuration_set", String(128), nullable=False),
    Column("sends", Integer, nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("hard_bounces", Integer, nullable=False),
    Column("soft_bounces", Integer, nullable=False),
    Column("complaints", Integer, nullable=False),
    Column("rejects", Integer, nullable=False),
    UniqueConstraint(
        "bucket_start",
        "account_id",
        "region",
        "identity",
        "configuration_set",
        name="uq_ses_send_counts_bucket_scope",
    ),
)

ses_alarms = Table(
    "ses_alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    # A log of transitions (feedback/alarm_state.py): level critical = raised, cleared = cleared.
    Column("alarm_key", String(400), nullable=False, unique=True),  # metric|scope|key|level|day or |after-N
    Column("raised_at", UtcDateTime(), nullable=False),
    Column("level", String(10), nullable=False),
    Column("metric", String(20), nullable=False),
    Column("scope", String(20), nullable=False),
    Column("scope_key", String(320), nullable=False),
    Column("value", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id")),
)

# The accounts registry (noticedesk/accounts): who an account is, who hears of it and how (0008).
accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("name", Text, nullable=False),
    Column("contacts", JSON, nullable=False),  # owner e-mail addresses
    Column("language", String(2), nullable=False),  # ja | en
    Column("channels", JSON, nullable=False),  # channel names of [notify.channels]; empty: the default
    Column("role_arn", String(2048)),
    Column("external_id", String(1224)),
    Column("regions", JSON, nullable=False),
    Column("source", String(10), nullable=False),  # cli | config | org
    Column("added_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# The notifications outbox (noticedesk/notify): one row per (event, channel), written in the
# transaction of the change it tells of, sent and retried by `deliver_due` (0008).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(300), nullable=False),
    Column("channel", String(80), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("case_id", String(40)),
    Column("account_id", String(12)),
    Column("language", String(2)),  # the account's; NULL: [notify] language
    Column("facts", JSON, nullable=False),
    Column("status", String(10), nullable=False),  # pending | sending | sent | failed
    Column("tries", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("claim_until", UtcDateTime()),  # a sender's lease while status is sending
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("dedupe_key", "channel", name="uq_outbox_dedupe_key_channel"),
)
Index("ix_outbox_status_next_attempt_at", outbox.c.status, outbox.c.next_attempt_at)

# Queued inputs (noticedesk/queues): SQS messages no worker could process, with the reason (0009).
queue_dead_letters = Table(
    "queue_dead_letters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("letter_key", String(200), nullable=False, unique=True),  # "<queue>:<SQS MessageId>"
    Column("queue", String(20), nullable=False),  # ses | health | mail
    Column("queue_url", String(1000), nullable=False),
    Column("message_id", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("receive_count", Integer, nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("dead_at", UtcDateTime(), nullable=False),
)

# The web dashboard's local users (noticedesk/users): Argon2 hashes only, never a password.
# ``session_version`` grows on each password change or removal: older sessions stop working.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(10), nullable=False),  # viewer | operator | admin
    Column("lang", String(2)),  # ja | en; None: from the browser
    Column("timezone", String(64)),  # IANA zone; None: Asia/Tokyo for ja, else [display] timezone
    Column("session_version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Keys the web app signs its session cookies with, made once and shared by every worker and host.
web_keys = Table(
    "web_keys",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("secret", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# `noticedesk watch`: how far each mailbox was read (IMAP UIDVALIDITY and the last UID filed).
watch_cursors = Table(
    "watch_cursors",
    metadata,
    Column("source", String(300), primary_key=True),
    Column("uid_validity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
