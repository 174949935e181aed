"""Shared fixtures: a real store on SQLite and on PostgreSQL, a fixed clock, fixture files."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from noticedesk.store.db import open_store

DATA = Path(__file__).parent / "data"
pytest_plugins = ["fixes_helpers"]  # fixtures of the fixes tests (moto account)

POSTGRES_ADMIN_URL = os.environ.get(
    "NOTICEDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FIXED_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# Compiled scanner databases (notices/scanner.py) go to a folder of this run, not the user's cache.
os.environ["NOTICEDESK_CACHE_DIR"] = tempfile.mkdtemp(prefix="noticedesk-test-cache-")


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'noticedesk.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """A fresh database on the machine's PostgreSQL, dropped afterwards."""
    name = f"noticedesk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = open_store(url)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on both stores, over real connections."""
    fixture_name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    result: Engine = request.getfixturevalue(fixture_name)
    return result


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases (no schema yet) on one store; dropped afterwards."""
    made: list[str] = []
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def fresh() -> str:
        name = f"noticedesk_fresh_{uuid.uuid4().hex[:12]}"
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    yield fresh
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
