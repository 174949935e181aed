"""The composition root: what the edges (cli, web, workers) build once and hand down — the store's
engine, the AWS client factory, the clock. Code below takes them as parameters and builds none of
them itself; a test hands in fakes (``Runtime(..., aws=lambda **_: stubbed)``) instead of patching.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Protocol

from noticedesk.clock import Clock, utc_now

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from noticedesk.aws.clients import ClientFactory
    from noticedesk.config import Config


class AwsClients(Protocol):
    """Builds the AWS client factory for a profile and a role to assume (``None``: the defaults)."""

    def __call__(self, *, profile: str | None = None, role_name: str | None = None) -> ClientFactory: ...


def boto3_clients(*, profile: str | None = None, role_name: str | None = None) -> ClientFactory:
    """The real one: boto3's credential chain (``AWS_ENDPOINT_URL`` honoured), standard retries."""
    from noticedesk.aws.clients import ClientFactory  # boto3 loads here, when a command needs AWS

    return ClientFactory(profile=profile, role_name=role_name)


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
        return self._engine

    def clients(self, *, profile: str | None = None, role_name: str | None = None) -> ClientFactory:
        """The AWS client factory, acting as ``role_name`` in another account when one is given."""
        return self.aws(profile=profile, role_name=role_name)

    def close(self) -> None:
        """Release the store's connections when the process (or the command) is done."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
