from __future__ import annotations

from sqlalchemy import Engine, inspect

from noticedesk.store.db import migrate, normalise_url


def test_migrations_create_every_table_on_both_stores(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"cases", "messages", "case_events", "checklist_items", "findings"} <= tables


def test_migrating_twice_changes_nothing(engine: Engine) -> None:
    migrate(engine)
    assert "cases" in inspect(engine).get_table_names()


def test_urls_are_normalised() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("cases.db") == "sqlite:///cases.db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_database_at_an_unknown_revision_is_a_one_line_store_error(sqlite_engine: Engine) -> None:
    import pytest
    from sqlalchemy import text

    from noticedesk.errors import StoreError

    with sqlite_engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    with pytest.raises(StoreError, match="9999_from_the_future"):
        migrate(sqlite_engine)
