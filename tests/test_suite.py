"""The test suite itself: it runs from a plain `pytest` at the repo root and never reaches real AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from fixes_helpers import make_case
from postgres_copies import PostgresCopies
from sqlalchemy import Engine, func, select

from noticedesk.store.tables import cases, checklist_items

ROOT = Path(__file__).parent.parent
ONE_FILE = ["tests/test_feedback_events.py"]  # imports `tests.conftest`


def test_plain_pytest_at_the_root_finds_the_test_helpers() -> None:
    # -P: the working directory is not put on sys.path, as with the `pytest` command itself.
    result = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *ONE_FILE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ModuleNotFoundError" not in result.stdout


def test_a_test_cannot_reach_real_aws() -> None:
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true" and "AWS_PROFILE" not in os.environ
    assert not Path(os.environ["AWS_CONFIG_FILE"]).exists()
    assert not Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).exists()
    client = boto3.client("sts", config=Config(retries={"max_attempts": 1}))
    # conftest's RealAwsRefused (this module could import a second copy of conftest, not the one in use)
    with pytest.raises(RuntimeError, match=r"tests do not reach real AWS: POST sts\.us-east-1\.amazonaws"):
        client.get_caller_identity()


def test_a_test_reaches_a_local_endpoint(aws_endpoint: str) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == aws_endpoint
    assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_the_fake_aws_is_set_up_in_one_place() -> None:
    """conftest's ``aws`` (moto in-process) and ``aws_endpoint`` (moto server); no test makes its own."""
    makers = ("mock_aws(", "ThreadedMotoServer(")
    own = sorted(
        path.name
        for path in (ROOT / "tests").rglob("*.py")
        if path.name not in ("conftest.py", "test_suite.py")
        and any(m in path.read_text("utf-8") for m in makers)
    )
    assert own == []


def test_a_postgres_copy_handed_on_holds_what_a_fresh_copy_holds(
    postgres_admin: Engine, postgres_template: str, now: datetime
) -> None:
    from alembic import command

    from noticedesk.store.db import alembic_config, make_engine
    from tests.conftest import database_name, postgres_url

    copies = PostgresCopies(postgres_admin, postgres_template, postgres_url, lambda: database_name("check"))
    try:
        first = copies.take()
        engine = make_engine(postgres_url(first))
        assert make_case(engine, now) == 1
        assert make_case(engine, now) == 2
        left_open = engine.connect()  # a session a test's thread left inside a transaction
        left_open.execute(select(cases.c.id)).all()
        copies.give_back()
        left_open.invalidate()  # ended by give_back: let go here, not by the collector some time later
        engine.dispose()
        assert copies.take() == first  # kept: emptied, its sequences restarted
        engine = make_engine(postgres_url(first))
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(checklist_items)).scalar_one() == 0
        assert make_case(engine, now) == 1
        with engine.begin() as connection:  # a test that migrates the schema down
            command.downgrade(alembic_config(connection), "0005_ses_event_keys")
        engine.dispose()
        copies.give_back()
        assert copies.take() != first  # its schema changed: dropped, a new copy made
    finally:
        copies.drop()
