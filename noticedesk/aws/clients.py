"""The one way NoticeDesk gets a boto3 client: account, region, role → client with standard retries.

Credentials, profiles and ``AWS_ENDPOINT_URL`` come from the standard boto3 chain (how moto is
reached in AWS's place: docs/aws-facts.md, 5). For another account, a role is assumed
(``role_name`` in that account) and its clients act there. Without a role, a client for a named
account is only handed out when the credentials belong to that account: a case about account A
must never be diagnosed or fixed in account B by mistake. An account with a registered role
(``roles``: the accounts registry's role ARN and external id) is entered through that role
instead of ``role_name``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from noticedesk.aws.roles import RoleToAssume
from noticedesk.errors import AwsError

RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@dataclass
class ClientFactory:
    """Hands out cached clients; pass it down, never build clients at import time."""

    profile: str | None = None
    role_name: str | None = None
    default_region: str = "us-east-1"
    session_name: str = "noticedesk"
    roles: Mapping[str, RoleToAssume] = field(default_factory=dict)
    """Account id → the role registered for it; wins over ``role_name`` for that account."""
    _sessions: dict[str, boto3.Session] = field(default_factory=dict, repr=False)
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _own_account: str | None = field(default=None, init=False, repr=False)
    _account_locks: dict[str, threading.RLock] = field(default_factory=dict, init=False, repr=False)
    calls: int = field(default=0, init=False)
    """AWS API calls made through this factory's clients (retries not counted), for benchmarks."""
    calls_by_account: dict[str, int] = field(default_factory=dict, init=False)
    """The same per account ("" for the base credentials' clients)."""

    def _account_lock(self, account_id: str) -> threading.RLock:
        """Held while that account's session or one of its clients is built: boto3 sessions are not
        thread-safe, and threads gathering in parallel must not each assume the same role; other
        accounts' (``diagnose --all-accounts``) go on meanwhile."""
        with self._lock:
            return self._account_locks.setdefault(account_id, threading.RLock())

    def _base(self) -> boto3.Session:
        with self._lock:
            if "" not in self._sessions:
                self._sessions[""] = boto3.Session(profile_name=self.profile)
            return self._sessions[""]

    def own_account(self) -> str:
        """The account the base credentials belong to (asked once)."""
        with self._lock:
            known = self._own_account
        if known is not None:
            return known
        try:
            sts = self._base().client("sts", region_name=self.default_region, config=RETRIES)
            account = str(sts.get_caller_identity()["Account"])
        except (ClientError, BotoCoreError) as error:
            raise AwsError(f"cannot tell which account the AWS credentials belong to: {error}") from error
        with self._lock:
            self._own_account = account
        return account

    def session(self, account_id: str | None = None) -> boto3.Session:
        """The session for an account: the base credentials, or a role assumed into that account."""
        if account_id is None:
            return self._base()
        registered = self.roles.get(account_id)
        if self.role_name is None and registered is None:
            own = self.own_account()
            if own != account_id:
                raise AwsError(
                    f"the AWS credentials are for account {own}, not {account_id}: give a role to assume "
                    f"in {account_id} (--role-name, or role_name in [diagnose] / [fixes])"
                )
            return self._base()
        with self._lock:
            cached = self._sessions.get(account_id)
        if cached is not None:
            return cached
        with self._account_lock(account_id):
            with self._lock:
                cached = self._sessions.get(account_id)
            if cached is not None:
                return cached  # another thread assumed the role while this one waited
            sts = self.client("sts", self.default_region)
            role_arn = registered.arn if registered else f"arn:aws:iam::{account_id}:role/{self.role_name}"
            extra = {"ExternalId": registered.external_id} if registered and registered.external_id else {}
            try:
                credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=self.session_name, **extra)[
                    "Credentials"
                ]
            except (ClientError, BotoCoreError) as error:
                raise AwsError(f"cannot assume {role_arn}: {_one_line(error)}") from error
            session = self._sharing_models(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
            with self._lock:
                self._sessions[account_id] = session
        return session

    def _sharing_models(self, **credentials: str) -> boto3.Session:
        """A session with these credentials that reads API models through the base session's
        loader: a session of its own would parse each service's model again (0.1 s of CPU for
        EC2's) once per account assumed into, which bounds how many accounts are read at once."""
        core = botocore.session.Session()
        core.register_component("data_loader", self._base()._session.get_component("data_loader"))
        return boto3.Session(botocore_session=core, **credentials)

    def _count(self, account: str) -> Callable[..., None]:
        def count(**_: Any) -> None:
            with self._lock:
                self.calls += 1
                self.calls_by_account[account] = self.calls_by_account.get(account, 0) + 1

        return count

    def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
        key = (account_id or "", service, region or self.default_region)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        session = self.session(account_id)  # outside the lock: assuming a role takes a round trip
        with self._account_lock(key[0]):
            with self._lock:
                cached = self._clients.get(key)
            if cached is not None:
                return cached
            client = session.client(service, region_name=key[2], config=RETRIES)
            client.meta.events.register("before-call.*.*", self._count(key[0]))
            with self._lock:
                self._clients[key] = client
        return client


def _one_line(error: BaseException) -> str:
    """AWS's own words, on one line: "AccessDenied: User … is not authorized to perform …"."""
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return " ".join(f"{detail.get('Code', '?')}: {detail.get('Message', '')}".split())
    return " ".join(str(error).split())
