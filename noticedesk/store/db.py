"""One engine factory for SQLite (default, WAL) and PostgreSQL, and the migration entry point.

Alembic is imported only to migrate: a store already at this version's schema opens without it.
"""

from __future__ import annotations

import re
import sqlite3
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from noticedesk.errors import StoreError
from noticedesk.store import DEFAULT_URL as DEFAULT_URL
from noticedesk.store.revisions import is_current

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

_USERINFO_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")


def masked_url(url: str) -> str:
    """The database URL as it may be shown: its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not parseable as a URL: hide whatever sits between "user:" and "@"
        return _USERINFO_PASSWORD.sub(r"\1***@", url)


def _without_password(text: str, url: str) -> str:
    """``text`` (an error, which may quote the URL) with the URL's password hidden."""
    try:
        password = make_url(url).password
    except ArgumentError:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return _USERINFO_PASSWORD.sub(r"\1***@", text)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and plain file paths; pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{Path(url)}"
    return url


def _sqlite_pragmas(connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # 64 MiB page cache instead of SQLite's 2 MiB: the indexes a feedback import inserts into
    # (dedupe keys, addresses) stay in memory, or a long import slows down as they grow.
    # Pages are allocated as used, so a small store costs no more.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


SQLITE_BUSY_TIMEOUT_MS = 10_000


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode, waiting while another connection holds it.

    Switching needs a moment alone with the file. When another connection is switching or
    migrating it at the same time (two first starts), SQLite answers "database is locked" at once
    instead of waiting through ``busy_timeout`` (it would risk a deadlock), so wait here.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def begin_writing(connection: Connection) -> None:
    """Take SQLite's write lock at the start of this transaction, not at its first write.

    For a transaction that reads first and writes later (a triage batch: its reads, then ~0.1 s
    of filing in memory, then its writes). In WAL mode such a transaction cannot write once
    another connection has committed since it began reading: it fails at once with "database is
    locked" (``busy_timeout`` does not apply), and what it read may be stale. Holding the lock
    from the start, other writers wait for it instead (``busy_timeout``); readers never wait.
    PostgreSQL needs nothing here: the rows to change are read ``FOR UPDATE``.
    Call it first, before any statement of the transaction.
    """
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.dbapi_connection
    if not getattr(driver, "in_transaction", True):  # pysqlite begins lazily, before the first write
        connection.exec_driver_sql("BEGIN IMMEDIATE")


SUPPORTED = "SQLite (a file path or sqlite:///FILE) and PostgreSQL (postgresql://USER@HOST/DATABASE)"


def make_engine(url: str = DEFAULT_URL) -> Engine:
    try:
        dialect = make_url(normalise_url(url)).get_backend_name()
    except ArgumentError as error:
        raise StoreError(
            f"database URL {masked_url(url)!r} is not usable: {_without_password(str(error), url)}"
        ) from error
    if dialect not in ("sqlite", "postgresql"):
        raise StoreError(
            f"database URL {masked_url(url)!r}: {dialect} is not supported; NoticeDesk runs on {SUPPORTED}"
        )
    try:
        engine = create_engine(normalise_url(url), future=True)
    except (ArgumentError, ImportError) as error:
        reason = _without_password(str(error), url)
        raise StoreError(f"database URL {masked_url(url)!r} is not usable: {reason}") from error
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(connection: Connection) -> AlembicConfig:
    """Alembic's configuration for the migrations shipped in the package, run on ``connection``."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("noticedesk.store").joinpath("migrations")))
    config.attributes["connection"] = connection
    return config


MIGRATION_LOCK = 0x6E6F746963  # "notic": the PostgreSQL advisory lock key of the migrations


def _lock_for_migrating(connection: Connection) -> None:
    """Hold the database for this migration, so two first starts on a fresh database take turns.

    The second waits and then finds the schema current; without the lock both would read "no
    version yet" and both create the tables. PostgreSQL: a transaction-level advisory lock,
    released at commit. SQLite: ``BEGIN EXCLUSIVE`` before alembic reads the version (pysqlite
    would otherwise run each ``CREATE TABLE`` in a transaction of its own), waited for up to
    ``busy_timeout``.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN EXCLUSIVE")


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to the newest revision (every head: features add their own migrations)."""
    from alembic import command
    from alembic.util.exc import CommandError

    url = engine.url.render_as_string(hide_password=False)
    try:
        with engine.begin() as connection:
            _lock_for_migrating(connection)
            command.upgrade(alembic_config(connection), revision)
    except OperationalError as error:
        reason = _first_line(_without_password(str(error.orig), url))
        raise StoreError(f"cannot reach or migrate the database: {reason}") from error
    except CommandError as error:
        # e.g. a database written by a newer NoticeDesk, at a revision this one does not know
        reason = _first_line(_without_password(str(error), url))
        raise StoreError(f"cannot migrate the database: {reason}") from error


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else text


def open_store(url: str = DEFAULT_URL) -> Engine:
    """The engine of a store at this version's schema: migrated first when it is not (or is new)."""
    engine = make_engine(url)
    if not is_current(engine):  # also when the store cannot be reached: migrate() says why
        migrate(engine)
    return engine


def current_revision(engine: Engine) -> str | None:
    """The schema revision the store is at (None: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
    except OperationalError as error:
        url = engine.url.render_as_string(hide_password=False)
        raise StoreError(
            f"cannot reach the database: {_first_line(_without_password(str(error.orig), url))}"
        ) from error
    return ",".join(sorted(heads)) or None
