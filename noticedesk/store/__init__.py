"""The store: SQLAlchemy Core tables, one engine factory, Alembic migrations (SQLite and PostgreSQL)."""

DEFAULT_URL = "sqlite:///noticedesk.db"
"""The store when neither ``--db`` nor ``NOTICEDESK_DATABASE_URL`` names one (the CLI's help shows it)."""
