"""The store: SQLAlchemy Core tables, one engine factory, Alembic migrations (SQLite and PostgreSQL)."""
