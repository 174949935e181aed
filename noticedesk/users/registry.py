"""The users table: add, list, remove, change a password, check one at login.

Passwords are hashed with Argon2id (``argon2-cffi``'s defaults, RFC 9106's second choice); a hash
made with older parameters is replaced at the next login. A password change or a removal bumps
``session_version``, which ends every session signed before it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from noticedesk.config import zone_of
from noticedesk.errors import NotFoundError, UserError
from noticedesk.store.tables import users

log = logging.getLogger(__name__)
Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
"""Each role may do what the roles before it may: viewer reads; operator ticks the checklist,
edits and sends replies, runs dry-run plans, edits the suppression list; admin applies and undoes
fixes and manages users."""

MIN_PASSWORD = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone's")
"""Verified against when the name is unknown: a login takes as long whether or not the user exists."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    lang: str | None
    timezone: str | None
    session_version: int
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role,
            "lang": self.lang,
            "timezone": self.timezone,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def may(role: str, needed: str) -> bool:
    """Whether ``role`` includes what ``needed`` may do (an unknown role may nothing)."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def _user(row: Any) -> User:
    return User(
        name=row.name,
        role=row.role,
        lang=row.lang,
        timezone=row.timezone,
        session_version=row.session_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(
            f"{name!r} is not a usable user name: 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    if password != password.strip():
        raise UserError("a password may not start or end with a space (a copy-paste slip?)")
    return password


def _check_settings(role: str, lang: str | None, timezone: str | None) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if lang not in (None, "ja", "en"):
        raise UserError(f"unknown language {lang!r}: ja or en")
    if timezone is not None:
        try:
            zone_of(timezone)
        except ValueError as error:
            raise UserError(str(error)) from error


def add_user(
    engine: Engine,
    name: str,
    password: str,
    role: str,
    now: datetime,
    lang: str | None = None,
    timezone: str | None = None,
) -> User:
    check_name(name)
    check_password(password)
    _check_settings(role, lang, timezone)
    values = {
        "name": name,
        "password_hash": _HASHER.hash(password),
        "role": role,
        "lang": lang,
        "timezone": timezone,
        "session_version": 1,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(users).values(**values))
    except IntegrityError as error:
        raise UserError(f"there is a user {name!r} already (change it with `users passwd`)") from error
    log.info("user added", extra={"user": name, "role": role})
    found = find_user(engine, name)
    assert found is not None
    return found


def find_user(engine_or_connection: Engine | Connection, name: str) -> User | None:
    query = select(users).where(users.c.name == name)
    if isinstance(engine_or_connection, Connection):
        row = engine_or_connection.execute(query).first()
    else:
        with engine_or_connection.connect() as connection:
            row = connection.execute(query).first()
    return _user(row) if row is not None else None


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as connection:
        return [_user(row) for row in connection.execute(select(users).order_by(users.c.name))]


def remove_user(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        if connection.execute(delete(users).where(users.c.name == name)).rowcount == 0:
            raise NotFoundError(f"no user {name!r}")
    log.info("user removed", extra={"user": name})


def set_password(engine: Engine, name: str, password: str, now: datetime) -> User:
    """A new password; every session of the user signed before it ends."""
    check_password(password)
    with engine.begin() as connection:
        changed = connection.execute(
            update(users)
            .where(users.c.name == name)
            .values(
                password_hash=_HASHER.hash(password),
                session_version=users.c.session_version + 1,
                updated_at=now,
            )
        ).rowcount
    if changed == 0:
        raise NotFoundError(f"no user {name!r}")
    log.info("password changed", extra={"user": name})
    found = find_user(engine, name)
    assert found is not None
    return found


def set_settings(
    engine: Engine,
    name: str,
    now: datetime,
    *,
    role: str | None = None,
    lang: str | None = None,
    timezone: str | None = None,
) -> User:
    """Change a user's role, language or time zone (``None`` leaves one as it is)."""
    current = find_user(engine, name)
    if current is None:
        raise NotFoundError(f"no user {name!r}")
    role = role or current.role
    lang = lang or current.lang
    timezone = timezone or current.timezone
    _check_settings(role, lang, timezone)
    with engine.begin() as connection:
        connection.execute(
            update(users)
            .where(users.c.name == name)
            .values(role=role, lang=lang, timezone=timezone, updated_at=now)
        )
    found = find_user(engine, name)
    assert found is not None
    return found


def authenticate(engine: Engine, name: str, password: str, now: datetime) -> User | None:
    """The user whose name and password these are, else ``None`` (no hint which was wrong)."""
    with engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.name == name)).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _HASHER.check_needs_rehash(stored):
        with engine.begin() as connection:
            connection.execute(
                update(users)
                .where(users.c.name == name)
                .values(password_hash=_HASHER.hash(password), updated_at=now)
            )
    return _user(row)
