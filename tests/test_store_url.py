"""A database password never appears in what NoticeDesk prints."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from noticedesk.cli import cli
from noticedesk.errors import StoreError
from noticedesk.store.db import masked_url, open_store

URLS = [
    "postgresql+asyncpg://user:SECRET@host/db",  # driver not installed
    "mysql://user:SECRET@h/db",  # dialect's driver not installed
    "nosuchdialect://user:SECRET@h/db",
    "postgresql://user:SECRET@127.0.0.1:1/db",  # nothing listens
    "postgresql+psycopg://nobody:SECRET@127.0.0.1:5432/nodb",  # no such role
    "postgresql://user:SE%2FC:RET@127.0.0.1:1/db",
]


@pytest.mark.parametrize("url", URLS)
def test_the_password_is_masked_in_the_error(url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", url, "cases"])
    assert result.exit_code == 2
    assert "SECRET" not in result.output and "RET@" not in result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert "SECRET" not in str(raised.value)


def test_masked_url() -> None:
    assert masked_url("postgresql://user:SECRET@host/db") == "postgresql://user:***@host/db"
    assert masked_url("sqlite:///noticedesk.db") == "sqlite:///noticedesk.db"
    assert "SECRET" not in masked_url("not a url ://user:SECRET@host")
