"""`diagnose --all-accounts`: every registered account through its role, a bounded number at once,
one account's failure reported without stopping the others, one summary table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from noticedesk.accounts.registry import Account
from noticedesk.aws.checks.catalogue import CATALOGUE
from noticedesk.aws.clients import ClientFactory, RoleToAssume
from noticedesk.config import DiagnoseConfig
from noticedesk.demo.aws import seed_demo_account
from noticedesk.remediation import fleet
from noticedesk.remediation.fleet import diagnose_accounts
from noticedesk.store.tables import findings
from tests.conftest import FAKE_AWS_ENV, moto_server

SEEDED, CLEAN, EXTERNAL, NO_ROLE = "111122223333", "222233334444", "444455556666", "333344445555"
REGIONS = ("us-east-1",)
CHECKS = tuple(
    check for check in CATALOGUE if check.id in {"console-mfa", "quarantine-policy", "persistence"}
)


def _role(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/NoticeDeskAudit"


def _roles(accounts: list[Account]) -> dict[str, RoleToAssume]:
    """What the runtime hands the client factory from the registry (accounts/registry.py)."""
    return {a.account_id: RoleToAssume(a.role_arn, a.external_id) for a in accounts if a.role_arn}


ACCOUNTS = [
    Account(SEEDED, "Demo shop", role_arn=_role(SEEDED), external_id="ext-1"),
    Account(CLEAN, "Clean", role_arn=_role(CLEAN), regions=REGIONS),
    Account(NO_ROLE, "No role"),
    Account(EXTERNAL, "Other", role_arn=_role(EXTERNAL)),
]


@pytest.fixture
def fleet_clients(aws: ClientFactory) -> ClientFactory:
    """The fake AWS with one account seeded; the factory reaches each account through its own role."""
    seed_demo_account(ClientFactory(role_name="seeder"), SEEDED)
    return ClientFactory(roles=_roles(ACCOUNTS))


def test_each_account_read_through_its_own_role_and_one_failure_stops_none(
    fleet_clients: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    outcomes = list(
        diagnose_accounts(
            fleet_clients, ACCOUNTS, CHECKS, sqlite_engine, lambda: now,
            settings=DiagnoseConfig(recent_days=0), concurrency=3, regions=REGIONS,
        )
    )  # fmt: skip
    assert [outcome.account.account_id for outcome in outcomes] == [SEEDED, CLEAN, NO_ROLE, EXTERNAL]
    seeded, clean, no_role, external = outcomes
    assert seeded.failed_checks == {"console-mfa": 1, "quarantine-policy": 1, "persistence": 1}
    assert clean.diagnosis is not None and clean.failed_checks == {} and external.failed_checks == {}
    assert no_role.diagnosis is None and no_role.error is not None
    assert "give a role to assume in 333344445555" in no_role.error
    for outcome in (seeded, clean, external):  # read in its own account, its calls counted there
        assert outcome.diagnosis is not None and outcome.diagnosis.calls > 0
        assert {finding.account_id for finding in outcome.diagnosis.findings} == {outcome.account.account_id}
    with sqlite_engine.connect() as connection:
        stored = {row.account_id for row in connection.execute(select(findings.c.account_id).distinct())}
    assert stored == {SEEDED, CLEAN, EXTERNAL}


def test_at_most_concurrency_accounts_are_read_at_once(
    fleet_clients: ClientFactory, sqlite_engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def slow(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        raise RuntimeError("boom")  # a bug in one account's reading: reported, the others go on

    monkeypatch.setattr(fleet, "run_diagnosis", slow)
    accounts = [
        Account(f"{index:012d}", f"account {index}", role_arn=_role(f"{index:012d}")) for index in range(7)
    ]
    started = time.perf_counter()
    outcomes = list(
        diagnose_accounts(
            fleet_clients,
            accounts,
            CHECKS,
            sqlite_engine,
            lambda: now,
            settings=DiagnoseConfig(),
            concurrency=3,
        )
    )
    assert most == 3
    assert time.perf_counter() - started >= 0.6  # 7 accounts, 3 at a time: three rounds
    assert [outcome.error for outcome in outcomes] == ["internal error (RuntimeError: boom)"] * 7


@pytest.fixture(scope="module")
def seeded_server() -> Iterator[dict[str, str]]:
    """The fake AWS as a server, one account seeded: the environment of a CLI run reaching it."""
    with moto_server() as endpoint:
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
            **FAKE_AWS_ENV,
            "AWS_ENDPOINT_URL": endpoint,
        }
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            seed_demo_account(ClientFactory(role_name="seeder"), SEEDED)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        yield env


def _cli(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "noticedesk.toml"
    entries = "".join(
        f'[[accounts]]\nid = "{account.account_id}"\nname = "{account.name}"\n'
        + (f'role_arn = "{account.role_arn}"\n' if account.role_arn else "")
        + (f'external_id = "{account.external_id}"\n' if account.external_id else "")
        for account in ACCOUNTS
    )
    config.write_text(f"[diagnose]\nrecent_days = 0\n{entries}")
    return subprocess.run(
        [sys.executable, "-m", "noticedesk", "--db", f"sqlite:///{tmp_path / 'nd.db'}", "--config",
         str(config), "diagnose", "--all-accounts", "--regions", ",".join(REGIONS), *args],
        env={**env, "COLUMNS": "100"}, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


def test_the_command_prints_one_table_and_names_the_account_it_could_not_read(
    seeded_server: dict[str, str], tmp_path: Path
) -> None:
    checks = ",".join(check.id for check in CHECKS)
    completed = _cli(seeded_server, tmp_path, "--concurrency", "2", "--checks", checks)
    assert completed.returncode == 1
    lines = completed.stdout.splitlines()
    assert "4 account(s): 3 read, 1 not read" in lines[0]
    rows = {line.split()[0]: line for line in lines if line[:12].isdigit()}
    assert set(rows) == {SEEDED, CLEAN, NO_ROLE, EXTERNAL}
    assert "not read" in rows[NO_ROLE]
    seeded = rows[SEEDED].split()
    assert seeded[:4] == [SEEDED, "Demo", "shop", "3"] and seeded[5:] == ["1", "1", "1"]
    assert rows[CLEAN].split()[:3] == [CLEAN, "Clean", "0"] and len(rows[CLEAN].split()) == 4
    legend = completed.stdout[completed.stdout.index("1=") :].split()
    assert legend == ["1=console-mfa", "2=persistence", "3=quarantine-policy"]
    assert completed.stderr.count("error: account") == 1
    assert f"account {NO_ROLE} not read" in completed.stderr


def test_the_json_lines_hold_one_object_per_account(seeded_server: dict[str, str], tmp_path: Path) -> None:
    completed = _cli(seeded_server, tmp_path, "--json", "--checks", ",".join(check.id for check in CHECKS))
    assert completed.returncode == 1
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [line["account_id"] for line in lines] == [SEEDED, CLEAN, NO_ROLE, EXTERNAL]
    by_id = {line["account_id"]: line for line in lines}
    assert by_id[SEEDED]["failed_checks"] == {"console-mfa": 1, "quarantine-policy": 1, "persistence": 1}
    assert by_id[CLEAN]["failed_checks"] == {} and by_id[CLEAN]["run_id"]
    assert by_id[NO_ROLE]["run_id"] is None and "give a role" in by_id[NO_ROLE]["error"]


def test_all_accounts_refuses_a_case_or_an_account(seeded_server: dict[str, str], tmp_path: Path) -> None:
    completed = _cli(seeded_server, tmp_path, "--account", CLEAN)
    assert completed.returncode == 2 and "--all-accounts reads every registered account" in completed.stderr


def test_roles_of_different_accounts_are_assumed_at_the_same_time(fleet_clients: ClientFactory) -> None:
    """Each AssumeRole is held in flight (a slow network): with four threads building four
    accounts' clients, several are in flight at once, where one lock for all made them take turns;
    and the accounts' sessions share the API models already loaded."""
    base = fleet_clients.session()
    in_flight, most = 0, 0
    lock = threading.Lock()

    def slow_network(**_: Any) -> None:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.5)
        with lock:
            in_flight -= 1

    base.events.register("before-send.sts.AssumeRole", slow_network)
    accounts = [account.account_id for account in ACCOUNTS if account.role_arn]
    threads = [threading.Thread(target=fleet_clients.client, args=("iam", None, a)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most >= 2
    loaders = {id(fleet_clients.session(a)._session.get_component("data_loader")) for a in accounts}
    assert loaders == {id(base._session.get_component("data_loader"))}
