from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, text

from noticedesk.store import migrations
from noticedesk.store.db import alembic_config, make_engine, migrate, normalise_url, open_store
from noticedesk.store.tables import metadata


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
    from noticedesk.errors import StoreError

    with sqlite_engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    with pytest.raises(StoreError, match="9999_from_the_future"):
        migrate(sqlite_engine)


def _migrate_at_once(engines: list[Engine]) -> list[BaseException]:
    """Every engine migrates in a thread of its own, all starting at the same moment."""
    start = threading.Barrier(len(engines))
    failures: list[BaseException] = []

    def first_start(engine: Engine) -> None:
        start.wait()
        try:
            migrate(engine)
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=first_start, args=(engine,), daemon=True) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if any(thread.is_alive() for thread in threads):
        failures.append(TimeoutError("a migration still waits after 60 s"))
    return failures


def test_two_first_starts_on_a_fresh_database_take_turns(fresh_urls: Callable[[], str]) -> None:
    """Both migrate at the same moment: one creates the schema, the other waits and finds it current."""
    for _ in range(4):
        engines = [make_engine(url) for url in [fresh_urls()] * 2]
        assert _migrate_at_once(engines) == []
        assert "cases" in inspect(engines[0]).get_table_names()
        for engine in engines:
            engine.dispose()


def test_upgrade_moves_stored_probation_stages_to_notice(engine: Engine) -> None:
    """'probation' was AWS's older name for the SES review: 0006 stores it as stage 'notice'."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import insert, select

    from noticedesk.store.db import alembic_config
    from noticedesk.store.tables import case_events, cases, messages

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0005_ses_event_keys")
    at = datetime(2026, 11, 27, 16, 31, tzinfo=UTC)
    with engine.begin() as connection:
        case_id = connection.execute(
            insert(cases).values(
                case_key="111122223333|ses-complaint|-",
                account_id="111122223333",
                kind="ses-complaint",
                stage="probation",
                status="new",
                title="Amazon SES Complaint Probation",
                authenticity="unverified",
                facts={},
                opened_at=at,
                updated_at=at,
            )
        ).inserted_primary_key[0]
        connection.execute(
            insert(messages).values(
                dedupe_key="k",
                sha256="0" * 64,
                source="a.eml",
                format="eml",
                raw=b"",
                received_at=at,
                kind="ses-complaint",
                stage="probation",
                case_id=case_id,
            )
        )
        for summary, detail in (
            ("probation: Amazon SES Complaint Probation", {"kind": "ses-complaint", "stage": "probation"}),
            ("probation: a title that only starts so", {"stage": "final"}),
        ):
            connection.execute(
                insert(case_events).values(
                    case_id=case_id,
                    at=at,
                    type="notice-received",
                    actor="noticedesk",
                    summary=summary,
                    detail=detail,
                )
            )
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(select(cases.c.stage)).scalar_one() == "notice"
        assert connection.execute(select(messages.c.stage)).scalar_one() == "notice"
        events = connection.execute(
            select(case_events.c.summary, case_events.c.detail).order_by(case_events.c.id)
        ).all()
    assert [tuple(event) for event in events] == [
        ("notice: Amazon SES Complaint Probation", {"kind": "ses-complaint", "stage": "notice"}),
        ("probation: a title that only starts so", {"stage": "final"}),
    ]


def test_a_postgresql_schema_of_its_own_holds_every_table_and_drops_with_them(
    postgres_engine: Engine,
) -> None:
    """What the README's Deployment section says: search_path in the URL, DROP SCHEMA removes it all."""
    base = postgres_engine.url.render_as_string(hide_password=False)
    with postgres_engine.connect() as connection:
        connection.execute(text("CREATE SCHEMA noticedesk"))
        connection.commit()
    separate = open_store(f"{base}?options=-csearch_path%3Dnoticedesk")
    separate.dispose()
    with postgres_engine.connect() as connection:
        tables = set(
            connection.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'noticedesk'")
            ).scalars()
        )
        assert {"alembic_version", "cases"} <= tables
        connection.execute(text("DROP SCHEMA noticedesk CASCADE"))
        connection.commit()
        left = connection.execute(
            text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'noticedesk'")
        ).scalar_one()
    assert left == 0


def test_migrations_import_no_live_code_beyond_the_store_types() -> None:
    """A migration keeps a frozen copy of what it needs: the code it once called may change."""
    versions = Path(migrations.__file__).parent / "versions"
    allowed = {"__future__", "datetime", "sqlalchemy", "alembic", "noticedesk.store.types"}
    for path in sorted(versions.glob("0*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
        assert imported <= allowed, (path.name, imported - allowed)


def schema_drift(engine: Engine, target: MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make the migrated store match ``target``."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, target))


def test_the_tables_module_is_the_migrated_schema(engine: Engine) -> None:
    assert schema_drift(engine, metadata) == []
    drifted = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["cases"].append_column(Column("not_migrated", Integer))
    assert [change[0] for change in schema_drift(engine, drifted)] == ["add_column"]


def test_the_heads_read_from_the_migration_files_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    from noticedesk.store.revisions import shipped_heads

    with make_engine("sqlite://").connect() as connection:
        script = ScriptDirectory.from_config(alembic_config(connection))
    assert shipped_heads() == frozenset(script.get_heads())


def test_the_stored_revisions_are_read_without_alembic(engine: Engine, tmp_path: Path) -> None:
    from noticedesk.store.revisions import is_current, shipped_heads, stored_revisions

    with engine.connect() as connection:
        assert stored_revisions(engine) == frozenset(
            MigrationContext.configure(connection).get_current_heads()
        )
    assert stored_revisions(engine) == shipped_heads() and is_current(engine)
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert stored_revisions(fresh) is None and not is_current(fresh)


def test_a_store_behind_is_migrated_when_opened(engine: Engine) -> None:
    from alembic import command

    from noticedesk.store.revisions import is_current

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0005_ses_event_keys")
    assert not is_current(engine)
    open_store(engine.url.render_as_string(hide_password=False)).dispose()
    assert is_current(engine)
