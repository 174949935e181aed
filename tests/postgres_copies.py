"""The PostgreSQL database of each test: a copy of the migrated template, emptied and handed on.

``CREATE DATABASE … TEMPLATE`` and ``DROP DATABASE`` cost a tenth of a second to most of a second
each on a busy machine; emptying the tables of a copy costs a few milliseconds. So a worker keeps
one copy: after each test its other sessions are ended, and when its schema is still the
template's (same columns, indexes, constraints and revision), every table is emptied and every
sequence restarted, as in a fresh copy; otherwise (a test migrated it down, or failed half way)
the copy is dropped and the next test gets a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

SCHEMA_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), '')) FROM (
    SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':'
           || coalesce(column_default, '') AS item
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 'revision ' || version_num FROM alembic_version
) AS schema_items
"""
"""One value that changes with any change of the schema or of its revision."""


class PostgresCopies:
    """The worker's copy of the template: handed out (``take``), emptied after the test (``give_back``)."""

    def __init__(
        self, admin: Engine, template: str, url_of: Callable[[str], str], new_name: Callable[[], str]
    ):
        self.admin, self.template, self.url_of, self.new_name = admin, template, url_of, new_name
        self.name: str | None = None
        self.fingerprint = ""
        self.empty_it = ""

    def take(self) -> str:
        """The name of a database that holds what a fresh copy of the template holds."""
        if self.name is None:
            name = self.new_name()
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
            with self._connect(name) as connection:
                self.fingerprint = str(connection.execute(text(SCHEMA_FINGERPRINT)).scalar_one())
                self.empty_it = _emptying_statements(connection)
            self.name = name
        return self.name

    def give_back(self) -> None:
        """After a test: emptied for the next one, or dropped when its schema changed."""
        if self.name is None:
            return
        self._end_other_sessions(self.name)
        try:
            with self._connect(self.name) as connection:
                same = connection.execute(text(SCHEMA_FINGERPRINT)).scalar_one() == self.fingerprint
                if same:
                    connection.exec_driver_sql(self.empty_it)
                    connection.commit()
        except Exception:  # whatever the test left (a missing table, a broken revision): start anew
            same = False
        if not same:
            self.drop()

    def drop(self) -> None:
        if self.name is not None:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.name = None

    @contextmanager
    def _connect(self, name: str) -> Iterator[Connection]:
        engine = create_engine(self.url_of(name), poolclass=NullPool)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    def _end_other_sessions(self, name: str) -> None:
        """A test's threads or subprocesses may have left sessions open, even inside a transaction."""
        with self.admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )


def _emptying_statements(connection: Connection) -> str:
    """One batch that empties every table but the revision's and restarts every sequence.

    Foreign keys are not checked meanwhile (``session_replication_role``), so the order of the
    tables does not matter; a sequence restarts where a fresh copy's starts.
    """
    tables = connection.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version' "
            "ORDER BY tablename"
        )
    ).scalars()
    sequences = connection.execute(
        text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename")
    ).scalars()
    statements = ["SET session_replication_role = replica"]
    statements += [f'DELETE FROM "{table}"' for table in tables]
    statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
    statements.append("SET session_replication_role = DEFAULT")
    return "; ".join(statements)
