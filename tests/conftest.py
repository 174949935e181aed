"""Shared fixtures: a real store on SQLite and on PostgreSQL, the one fake AWS, a fixed clock, fixture files.

Safe under pytest-xdist (``scripts/check`` runs it): each worker migrates its own templates (a
SQLite file in its own temporary folder, PostgreSQL databases named after the worker), servers
listen on ports the system picks, and the run's scanner cache is shared.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.httpsession import URLLib3Session
from postgres_copies import PostgresCopies
from sqlalchemy import Engine, create_engine, text

from noticedesk.aws.clients import ClientFactory
from noticedesk.demo.moto_routes import build_routes_one_at_a_time
from noticedesk.store.db import make_engine, open_store

DATA = Path(__file__).parent / "data"

POSTGRES_ADMIN_URL = os.environ.get(
    "NOTICEDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FIXED_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# Compiled scanner databases (notices/scanner.py) go to a folder of this run, not the user's cache.
# The first process makes it; xdist workers (and pytest runs started by a test) inherit it, so the
# scanner is compiled once per run, not once per worker (its files are written whole or not at all).
_RUN_CACHE = "NOTICEDESK_TEST_RUN_CACHE"
os.environ.setdefault(_RUN_CACHE, tempfile.mkdtemp(prefix="noticedesk-test-cache-"))
os.environ["NOTICEDESK_CACHE_DIR"] = os.environ[_RUN_CACHE]
# Tests reach moto in-process from the diagnosis's threads: its routes are built one at a time.
build_routes_one_at_a_time()

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


FAKE_AWS_ENV = {**AWS_TEST_ENV, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}  # a region sweep 7x faster
"""What a process reaching the fake AWS needs in its environment (a CLI run in a subprocess too)."""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClientFactory]:
    """The fake AWS: moto in this process, and the factory of the testing credentials' own account.

    A test that reaches another account the way NoticeDesk does builds its own factory inside
    (``ClientFactory(role_name=...)``): moto answers every client made while the fixture is up.
    """
    from moto import mock_aws  # imported by the tests that use it, not by every test run

    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield ClientFactory(default_region="us-east-1")


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a port the system picks, for CLI runs in a subprocess; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fake AWS as a server (the local endpoint tests opt into): ``AWS_ENDPOINT_URL`` points at it."""
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with moto_server() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint


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


def database_name(role: str) -> str:
    """A PostgreSQL database name of this worker, unique across runs sharing the server."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1, … under xdist
    return f"noticedesk_{worker}_{role}_{uuid.uuid4().hex[:12]}"


def postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: Engine) -> Iterator[str]:
    """A PostgreSQL database migrated once per test run, the template of each test's database."""
    name = database_name("template")
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = open_store(postgres_url(name))
    engine.dispose()  # a template is copied only while nobody is connected to it
    yield name
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_copies(postgres_admin: Engine, postgres_template: str) -> Iterator[PostgresCopies]:
    """This worker's copy of the template, emptied between tests (tests/postgres_copies.py)."""
    copies = PostgresCopies(postgres_admin, postgres_template, postgres_url, lambda: database_name("test"))
    yield copies
    copies.drop()


@pytest.fixture
def postgres_engine(postgres_copies: PostgresCopies) -> Iterator[Engine]:
    """A database of this test on the machine's PostgreSQL, holding what the migrated template holds."""
    engine = make_engine(postgres_url(postgres_copies.take()))
    yield engine
    engine.dispose()
    postgres_copies.give_back()


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
        name = database_name("fresh")
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
