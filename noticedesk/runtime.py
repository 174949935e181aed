"""The composition root: what the edges (cli, web, workers) build once and hand down — the store's
engine, the AWS client factory, the clock. Code below takes them as parameters and builds none of
them itself; a test hands in fakes (``Runtime(..., aws=lambda **_: stubbed)``) instead of patching.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Protocol

from noticedesk.clock import Clock, utc_now

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from noticedesk.aws.clients import ClientFactory
    from noticedesk.aws.roles import RoleToAssume
    from noticedesk.config import Config


class AwsClients(Protocol):
    """Builds the AWS client factory for a profile, a role name to assume and the roles registered
    per account (``None``: the defaults)."""

    def __call__(
        self,
        *,
        profile: str | None = None,
        role_name: str | None = None,
        roles: Mapping[str, RoleToAssume] | None = None,
    ) -> ClientFactory: ...


def boto3_clients(
    *,
    profile: str | None = None,
    role_name: str | None = None,
    roles: Mapping[str, RoleToAssume] | None = None,
) -> ClientFactory:
    """The real one: boto3's credential chain (``AWS_ENDPOINT_URL`` honoured), standard retries."""
    from noticedesk.aws.clients import ClientFactory  # boto3 loads here, when a command needs AWS

    return ClientFactory(profile=profile, role_name=role_name, roles=dict(roles or {}))


@dataclass
class Runtime:
    """The store (opened on first use), the AWS clients and the clock of one process."""

    db_url: str
    config: Config
    now: Clock = utc_now
    """The clock (a caller, a test, may hand in its own)."""
    _: KW_ONLY
    aws: AwsClients = boto3_clients
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from noticedesk.store.db import open_store

            self._engine = open_store(self.db_url)
            self._sync_accounts(self._engine)
        return self._engine

    def clients(
        self, *, profile: str | None = None, role_name: str | None = None, default_role: str | None = None
    ) -> ClientFactory:
        """The AWS client factory. In another account it acts as ``role_name`` when one is given
        (``--role-name``), else as the account's registered role (the accounts registry, with its
        external id), else as ``default_role`` (``[diagnose]`` / ``[fixes] role_name``)."""
        if role_name:
            return self.aws(profile=profile, role_name=role_name)
        from noticedesk.accounts.registry import registered_roles

        with self.engine.connect() as conn:
            roles = registered_roles(conn)
        return self.aws(profile=profile, role_name=default_role, roles=roles)

    def _sync_accounts(self, engine: Engine) -> None:
        """``[[accounts]]`` of the configuration into the registry the store keeps."""
        from noticedesk.accounts.registry import account_of, sync_config

        with engine.begin() as conn:
            sync_config(conn, [account_of(entry) for entry in self.config.accounts], now=self.now())

    def close(self) -> None:
        """Release the store's connections when the process (or the command) is done."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
