"""The registry in the store: add, find, list and remove accounts; bring ``[[accounts]]`` in.

Accounts come from three places, told apart by ``source``: ``cli`` (``noticedesk accounts add``),
``config`` (``[[accounts]]``, brought in by ``sync_config`` whenever the store is opened with a
configuration) and ``org`` (``accounts import-org``). One id is one row: the latest writer wins,
except that a configured account is only ever changed by the configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from noticedesk.aws.roles import RoleToAssume
from noticedesk.config import AccountConfig
from noticedesk.errors import NotFoundError
from noticedesk.store.tables import accounts

LANGUAGES = ("en", "ja")


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    contacts: tuple[str, ...] = ()
    language: str = "en"
    channels: tuple[str, ...] = ()
    role_arn: str | None = None
    external_id: str | None = None
    regions: tuple[str, ...] = ()
    source: str = "cli"
    added_at: datetime | None = field(default=None, compare=False)
    updated_at: datetime | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "name": self.name,
            "contacts": list(self.contacts),
            "language": self.language,
            "channels": list(self.channels),
            "role_arn": self.role_arn,
            "external_id": self.external_id,
            "regions": list(self.regions),
            "source": self.source,
        }


def account_of(entry: AccountConfig) -> Account:
    """An ``[[accounts]]`` entry as the registry holds it."""
    return Account(
        entry.id,
        entry.name,
        tuple(entry.contacts),
        entry.language,
        tuple(entry.channels),
        entry.role_arn,
        entry.external_id,
        tuple(entry.regions),
        "config",
    )


def _account(record: Any) -> Account:
    values = dict(record._mapping)
    for name in ("contacts", "channels", "regions"):
        values[name] = tuple(values[name] or ())
    return Account(**values)


def find_account(conn: Connection, account_id: str) -> Account | None:
    record = conn.execute(select(accounts).where(accounts.c.account_id == account_id)).first()
    return _account(record) if record is not None else None


def find_accounts(conn: Connection, account_ids: Iterable[str]) -> dict[str, Account]:
    """The registered ones of ``account_ids``, by id (one query)."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    query = select(accounts).where(accounts.c.account_id.in_(wanted))
    return {account.account_id: account for account in map(_account, conn.execute(query))}


def account_name(conn: Connection, account_id: str | None) -> str | None:
    """The registered name of ``account_id``, for displays; None when it is not registered."""
    if not account_id:
        return None
    return conn.execute(select(accounts.c.name).where(accounts.c.account_id == account_id)).scalar()


def account_names(conn: Connection, account_ids: Iterable[str | None]) -> dict[str, str]:
    """Names of those of ``account_ids`` that are registered (one query, for boards and lists)."""
    wanted = sorted({account_id for account_id in account_ids if account_id})
    if not wanted:
        return {}
    query = select(accounts.c.account_id, accounts.c.name).where(accounts.c.account_id.in_(wanted))
    return {account_id: name for account_id, name in conn.execute(query)}


def list_accounts(conn: Connection) -> list[Account]:
    return [_account(record) for record in conn.execute(select(accounts).order_by(accounts.c.account_id))]


def save_account(conn: Connection, account: Account, *, now: datetime) -> bool:
    """Insert or replace ``account``; True when it was new."""
    values = account.as_json()
    existing = find_account(conn, account.account_id)
    if existing is None:
        conn.execute(accounts.insert().values(**values, added_at=now, updated_at=now))
        return True
    conn.execute(
        update(accounts).where(accounts.c.account_id == account.account_id).values(**values, updated_at=now)
    )
    return False


def remove_account(conn: Connection, account_id: str) -> Account:
    existing = find_account(conn, account_id)
    if existing is None:
        raise NotFoundError(f"account {account_id} is not in the registry")
    conn.execute(delete(accounts).where(accounts.c.account_id == account_id))
    return existing


def sync_config(conn: Connection, configured: Sequence[Account], *, now: datetime) -> None:
    """Make the ``config`` rows what ``[[accounts]]`` says: add and update them, drop those gone.

    A configured id replaces a row added by hand or imported: the configuration is the record.
    Cheap when nothing changed (one read), as it runs whenever a command opens the store.
    """
    stored = {account.account_id: account for account in list_accounts(conn)}
    wanted = {account.account_id: account for account in configured}
    for account_id, account in wanted.items():
        if stored.get(account_id) != account:
            save_account(conn, account, now=now)
    for account_id, account in stored.items():
        if account.source == "config" and account_id not in wanted:
            conn.execute(delete(accounts).where(accounts.c.account_id == account_id))


def registered_roles(conn: Connection) -> dict[str, RoleToAssume]:
    """Account id → its registered role, for the client factory (accounts without one left out)."""
    query = select(accounts.c.account_id, accounts.c.role_arn, accounts.c.external_id).where(
        accounts.c.role_arn.is_not(None)
    )
    return {
        account_id: RoleToAssume(arn, external_id) for account_id, arn, external_id in conn.execute(query)
    }
