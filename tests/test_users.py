"""Dashboard users: Argon2 hashes, roles, `noticedesk users add|list|remove|passwd|set`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from noticedesk.cli import cli
from noticedesk.errors import NotFoundError, UserError
from noticedesk.store.db import open_store
from noticedesk.store.tables import users
from noticedesk.users import add_user, authenticate, list_users, may, remove_user, set_password
from tests.web_helpers import NOW

PASSWORD = "correct horse battery"


def test_roles_include_the_smaller_ones() -> None:
    assert may("admin", "operator") and may("operator", "viewer") and may("viewer", "viewer")
    assert not may("viewer", "operator") and not may("operator", "admin") and not may("root", "viewer")


def test_a_user_is_stored_with_an_argon2_hash_and_authenticates(engine: Engine) -> None:
    add_user(engine, "alice", PASSWORD, "admin", NOW, lang="ja")
    with engine.connect() as connection:
        stored = connection.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    found = authenticate(engine, "alice", PASSWORD, NOW)
    assert found is not None and found.role == "admin" and found.lang == "ja"
    assert authenticate(engine, "alice", PASSWORD + "x", NOW) is None
    assert authenticate(engine, "bob", PASSWORD, NOW) is None


def test_bad_users_are_refused_with_a_reason(sqlite_engine: Engine) -> None:
    add_user(sqlite_engine, "alice", PASSWORD, "viewer", NOW)
    with pytest.raises(UserError, match="already"):
        add_user(sqlite_engine, "alice", PASSWORD, "viewer", NOW)
    with pytest.raises(UserError, match="at least 10"):
        add_user(sqlite_engine, "bob", "short", "viewer", NOW)
    with pytest.raises(UserError, match="unknown role"):
        add_user(sqlite_engine, "bob", PASSWORD, "root", NOW)
    with pytest.raises(UserError, match="not a usable user name"):
        add_user(sqlite_engine, "<bob>", PASSWORD, "viewer", NOW)
    with pytest.raises(UserError, match="time zone"):
        add_user(sqlite_engine, "bob", PASSWORD, "viewer", NOW, timezone="Mars/Base")
    with pytest.raises(NotFoundError):
        remove_user(sqlite_engine, "nobody")
    assert [user.name for user in list_users(sqlite_engine)] == ["alice"]


def test_a_new_password_bumps_the_session_version(sqlite_engine: Engine) -> None:
    first = add_user(sqlite_engine, "alice", PASSWORD, "viewer", NOW)
    changed = set_password(sqlite_engine, "alice", "another long password", NOW)
    assert changed.session_version == first.session_version + 1
    assert authenticate(sqlite_engine, "alice", PASSWORD, NOW) is None
    assert authenticate(sqlite_engine, "alice", "another long password", NOW) is not None


def test_the_users_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = runner.invoke(cli, ["--db", url, "users", *args], input=stdin)
        return result.exit_code, result.output

    assert run("add", "alice", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n") == (
        0,
        "user alice added, role admin\n",
    )
    code, output = run("add", "alice", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "already" in output
    code, output = run("add", "bob", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert code == 2 and "at least 10" in output
    assert (
        run("add", "vera", "--role", "viewer", "--lang", "ja", "--password-stdin", stdin=PASSWORD + "\n")[0]
        == 0
    )
    code, output = run("list", "--json")
    listed = [json.loads(line) for line in output.splitlines()]
    assert [(u["name"], u["role"], u["lang"]) for u in listed] == [
        ("alice", "admin", None),
        ("vera", "viewer", "ja"),
    ]
    assert "hash" not in output and PASSWORD not in output
    assert run("passwd", "vera", "--password-stdin", stdin="another long password\n")[0] == 0
    assert run("set", "vera", "--role", "operator")[0] == 0
    assert run("remove", "alice") == (0, "user alice removed\n")
    code, output = run("remove", "alice")
    assert code == 2 and "no user" in output
    engine = open_store(url)
    try:
        assert [(u.name, u.role) for u in list_users(engine)] == [("vera", "operator")]
        assert authenticate(engine, "vera", "another long password", NOW) is not None
    finally:
        engine.dispose()
