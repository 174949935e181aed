"""Shared fixtures: a real store on SQLite and on PostgreSQL, a fixed clock, fixture files."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.httpsession import URLLib3Session
from sqlalchemy import Engine, create_engine, text

from noticedesk.store.db import make_engine, open_store

DATA = Path(__file__).parent / "data"
pytest_plugins = ["fixes_helpers"]  # fixtures of the fixes tests (moto account)

POSTGRES_ADMIN_URL = os.environ.get(
    "NOTICEDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FIXED_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# Compiled scanner databases (notices/scanner.py) go to a folder of this run, not the user's cache.
os.environ["NOTICEDESK_CACHE_DIR"] = tempfile.mkdtemp(prefix="noticedesk-test-cache-")

# No test reaches real AWS: fake keys, no profile, no files of the user's, no instance metadata,
# and botocore sends nothing to a host that is not this machine (moto in-process never sends; a
# test opts into a local endpoint, a moto server, with AWS_ENDPOINT_URL=http://127.0.0.1:PORT).
NO_AWS_FILE = Path(os.environ["NOTICEDESK_CACHE_DIR"]) / "no-aws" / "absent"
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": str(NO_AWS_FILE),
    "AWS_SHARED_CREDENTIALS_FILE": str(NO_AWS_FILE),
}
AWS_REAL_ONLY = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_SSO_SESSION",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class RealAwsRefused(RuntimeError):
    """A test tried to send a request to a host that is not this machine."""


_send = URLLib3Session.send


def _local_send(self: URLLib3Session, request: Any) -> Any:
    host = urlsplit(request.url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise RealAwsRefused(f"tests do not reach real AWS: {request.method} {host}")
    return _send(self, request)


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AWS_REAL_ONLY:
        monkeypatch.delenv(name, raising=False)
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(URLLib3Session, "send", _local_send)


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once per test run; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "noticedesk.db"
    engine = open_store(f"sqlite:///{path}")
    with engine.connect() as connection:  # everything in the main file, nothing left in a -wal file
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "noticedesk.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """Creates and drops the test databases (autocommit: CREATE DATABASE runs outside a transaction)."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


def postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: Engine) -> Iterator[str]:
    """A PostgreSQL database migrated once per test run, the template of each test's database."""
    name = f"noticedesk_template_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = open_store(postgres_url(name))
    engine.dispose()  # a template is copied only while nobody is connected to it
    yield name
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_engine(postgres_admin: Engine, postgres_template: str) -> Iterator[Engine]:
    """A database of this test on the machine's PostgreSQL, a copy of the migrated template."""
    name = f"noticedesk_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    engine = make_engine(postgres_url(name))
    yield engine
    engine.dispose()
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on both stores, over real connections."""
    fixture_name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    result: Engine = request.getfixturevalue(fixture_name)
    return result


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_urls(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin: Engine
) -> Iterator[Callable[[], str]]:
    """Makes empty databases (no schema yet, not copies of the template) on one store; dropped afterwards."""
    made: list[str] = []
    admin = postgres_admin

    def fresh() -> str:
        name = f"noticedesk_fresh_{uuid.uuid4().hex[:12]}"
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return postgres_url(name)

    yield fresh
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
