"""bench/scale.py's diagnose section: ``diagnose --all-accounts`` over N moto accounts.

A moto server in its own process holds N accounts (each reached through its own role ARN, as the
registry would give it); a few of them hold a planted problem (an IAM user with a console
password and no MFA) so that the summary has something to show. The use case behind
``diagnose --all-accounts`` (remediation/fleet.py) reads them all, into a fresh SQLite store, at
concurrency 1 and then 8 (accounts at once), through bench/diagnose.py's ``SlowNetworkFactory``:
every HTTP request (AssumeRole included) first waits ``latency_ms``, like a round trip to AWS.
Checks: those moto implements (bench/diagnose.py's list), one region per account. Prints wall
seconds, API calls and the speed-up (target: concurrency 8 >= 4x concurrency 1 at 50 ms).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.diagnose import SKIPPED, SlowNetworkFactory, moto_server
from noticedesk.accounts.registry import Account
from noticedesk.aws.checks.catalogue import CATALOGUE
from noticedesk.aws.clients import ClientFactory, RoleToAssume
from noticedesk.config import DiagnoseConfig
from noticedesk.remediation.fleet import diagnose_accounts
from noticedesk.store.db import open_store

REGION = "us-east-1"
CONCURRENCIES = (1, 8)


def _accounts(count: int) -> list[Account]:
    return [
        Account(f"{100000000000 + index:012d}", f"customer {index}",
                role_arn=f"arn:aws:iam::{100000000000 + index:012d}:role/NoticeDeskAudit", regions=(REGION,))
        for index in range(count)
    ]  # fmt: skip


def _roles(accounts: list[Account]) -> dict[str, RoleToAssume]:
    """What the runtime hands the client factory from the registry."""
    return {account.account_id: RoleToAssume(account.role_arn) for account in accounts if account.role_arn}


def _seed(accounts: list[Account]) -> None:
    factory = ClientFactory(roles=_roles(accounts))
    for account in accounts[::10]:
        iam = factory.client("iam", None, account.account_id)
        iam.create_user(UserName="console-user")
        iam.create_login_profile(UserName="console-user", Password="Not-a-real-one-1")


def _measure(
    accounts: list[Account], concurrency: int, latency_ms: float, folder: Path
) -> tuple[float, int, int]:
    factory = SlowNetworkFactory(roles=_roles(accounts), latency_ms=latency_ms)
    checks = tuple(check for check in CATALOGUE if check.id not in SKIPPED and check.needs_facts is None)
    engine = open_store(f"sqlite:///{folder / f'diagnose-{concurrency}.db'}")
    started = time.perf_counter()
    outcomes = list(
        diagnose_accounts(
            factory, accounts, checks, engine, lambda: datetime.now(UTC),
            settings=DiagnoseConfig(recent_days=0), concurrency=concurrency,
        )
    )  # fmt: skip
    wall = time.perf_counter() - started
    engine.dispose()
    unread = [outcome for outcome in outcomes if outcome.error]
    if unread:
        raise SystemExit(f"{len(unread)} account(s) not read, first: {unread[0].error}")
    failing = sum(bool(outcome.failed_checks) for outcome in outcomes)
    return wall, factory.calls, failing


def run(count: int, latency_ms: float) -> float:
    """Print the section; return the speed-up of concurrency 8 over concurrency 1."""
    accounts = _accounts(count)
    with moto_server(), tempfile.TemporaryDirectory(prefix="noticedesk-scale-") as name:
        _seed(accounts)
        print(f"diagnose --all-accounts: {count} moto accounts, {REGION} only, each HTTP request "
              f"waits {latency_ms:g} ms (plus moto's own time)")  # fmt: skip
        walls = {}
        for concurrency in CONCURRENCIES:
            wall, calls, failing = _measure(accounts, concurrency, latency_ms, Path(name))
            walls[concurrency] = wall
            print(f"  concurrency {concurrency}: {wall:6.1f} s, {calls:,} API calls, "
                  f"{failing} account(s) with a failed check")  # fmt: skip
    ratio = walls[1] / walls[8]
    print(f"  speed-up (concurrency 1 / concurrency 8): {ratio:.1f}x (target >= 4x)")
    return ratio
