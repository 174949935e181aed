"""`fix apply`/`fix undo`/`case verify` act as the configured role; one line when they cannot."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from click.testing import CliRunner
from fixes_helpers import add_findings, finding, make_case
from sqlalchemy import Engine, select, update

from noticedesk.aws.clients import ClientFactory
from noticedesk.cli import App, cli
from noticedesk.config import Config, DiagnoseConfig, FixesConfig
from noticedesk.store.tables import actions, case_events, cases

OTHER = "111122223333"
"""A customer's account: the test's credentials are moto's default account, not this one."""
USER = "ci-deployer"
HINT = "(--role-name, or role_name in [diagnose] / [fixes])"


def _invoke(engine: Engine, now: datetime, *args: str, config: Config | None = None) -> Any:
    app = App(db_url=str(engine.url), config=config or Config(), now=lambda: now)
    try:
        return CliRunner().invoke(cli, ["--db", str(engine.url), *args], obj=app)
    finally:
        app.close()


def _case_in_other_account(engine: Engine, now: datetime, key: str) -> int:
    case_id = make_case(engine, now)
    with engine.begin() as connection:
        connection.execute(update(cases).where(cases.c.id == case_id).values(account_id=OTHER))
    row = finding("access-key", key, None, access_key_id=key, user_name=USER)
    add_findings(engine, case_id, now, [{**row, "account_id": OTHER}])
    return case_id


def _key_in(account_factory: ClientFactory) -> Any:
    iam = account_factory.client("iam", None, OTHER)
    iam.create_user(UserName=USER)
    return iam, iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]


def test_fix_apply_and_undo_assume_the_role_named_or_configured(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    iam, key = _key_in(ClientFactory(role_name="ops"))
    case_id = _case_in_other_account(sqlite_engine, now, key)
    deactivate = f"A-{case_id}-1"

    def status() -> str:
        return str(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["Status"])

    named = _invoke(sqlite_engine, now, "fix", "apply", str(case_id), "--action", deactivate, "--yes",
                    "--role-name", "ops")  # fmt: skip
    assert named.exit_code == 0, named.output
    assert status() == "Inactive"
    configured = Config(fixes=FixesConfig(role_name="ops"))
    undone = _invoke(sqlite_engine, now, "fix", "undo", deactivate, "--yes", config=configured)
    assert undone.exit_code == 0, undone.output
    assert status() == "Active"


def test_a_run_that_cannot_reach_the_account_fails_once_and_records_no_failed_action(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    _, key = _key_in(ClientFactory(role_name="ops"))
    case_id = _case_in_other_account(sqlite_engine, now, key)
    result = _invoke(sqlite_engine, now, "fix", "apply", str(case_id), "--yes", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert f"cannot act in account {OTHER}" in line and HINT in line and "nothing was applied" in line
    with sqlite_engine.connect() as connection:
        statuses = set(connection.execute(select(actions.c.status, actions.c.started_at)).all())
        failed = connection.execute(
            select(case_events.c.id).where(case_events.c.type == "action-failed")
        ).all()
    assert statuses == {("planned", None)} and failed == []


def test_messages_naming_a_config_key_keep_their_brackets(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    """Rich reads `[fixes]` as a style tag and drops it: every such message is printed as text."""
    _, key = _key_in(ClientFactory(role_name="ops"))
    case_id = _case_in_other_account(sqlite_engine, now, key)
    verify = _invoke(sqlite_engine, now, "case", "verify", str(case_id))
    assert HINT in verify.stdout.replace("\n", " ") or HINT in " ".join(verify.stdout.split())
    diagnose = _invoke(sqlite_engine, now, "diagnose", "--account", OTHER, "--regions", "us-east-1")
    assert diagnose.exit_code == 2 and HINT in diagnose.stderr
    tight = Config(fixes=FixesConfig(max_resources_per_run=1))
    limit = _invoke(sqlite_engine, now, "fix", "apply", str(case_id), config=tight)
    assert "([fixes] max_resources_per_run)" in " ".join(limit.stderr.split())
    # A failed action's error (the hint inside) is below its block, brackets and all.
    with sqlite_engine.begin() as connection:
        connection.execute(update(actions).values(status="failed", error=f"could not read: {HINT}"))
    plan = _invoke(sqlite_engine, now, "fix", "plan", str(case_id))
    assert HINT in " ".join(plan.stdout.split())


def test_case_verify_uses_the_configured_role(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    _, key = _key_in(ClientFactory(role_name="ops"))
    case_id = _case_in_other_account(sqlite_engine, now, key)
    without = _invoke(sqlite_engine, now, "case", "verify", str(case_id), "--json")
    assert any(
        "credentials are for account" in json.loads(line)["detail"] for line in without.stdout.splitlines()
    )
    configured = Config(diagnose=DiagnoseConfig(role_name="ops"))
    with_role = _invoke(sqlite_engine, now, "case", "verify", str(case_id), "--json", config=configured)
    details = [json.loads(line)["detail"] for line in with_role.stdout.splitlines()]
    assert details and not any("credentials are for account" in detail for detail in details)
