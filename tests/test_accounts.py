"""The accounts registry: the CLI on both stores, [[accounts]] from the configuration, the
Organizations import (moto), and the registered role that diagnose and fix assume."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from noticedesk.accounts.organizations import import_accounts, organization_accounts
from noticedesk.accounts.registry import Account, account_name, account_names, list_accounts, save_account
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.roles import RoleToAssume
from noticedesk.cli import App, cli
from noticedesk.config import Config, load_config
from noticedesk.errors import AwsError
from tests.triage_helpers import make_app

PROD = "123456789012"


def _run(app: App, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), obj=app)
    return result.exit_code, result.output


def test_add_list_show_remove(engine: Engine, now: datetime) -> None:
    app = make_app(engine, now)
    role = f"arn:aws:iam::{PROD}:role/NoticeDesk"
    options = ["--lang", "ja", "--contact", "owner@example.com", "--region", "ap-northeast-1"]
    code, out = _run(
        app, "accounts", "add", PROD, "--name", "Prod", *options, "--role-arn", role, "--external-id", "ext-1"
    )
    assert (code, out) == (0, f"added {PROD} (Prod)\n")
    code, out = _run(app, "accounts", "list", "--json")
    (listed,) = [json.loads(line) for line in out.splitlines()]
    assert listed["name"] == "Prod" and listed["language"] == "ja" and listed["regions"] == ["ap-northeast-1"]
    code, out = _run(app, "accounts", "show", PROD)
    assert "owner@example.com" in out and "ext-1" not in out  # the external id: only whether it is set
    with engine.connect() as conn:
        assert account_name(conn, PROD) == "Prod"
        assert account_names(conn, [PROD, "999999999999", None]) == {PROD: "Prod"}
    assert _run(app, "accounts", "remove", PROD) == (0, f"removed {PROD} (Prod)\n")
    code, out = _run(app, "accounts", "show", PROD)
    assert code == 2 and "not in the registry" in out


def test_bad_input_is_one_line(sqlite_engine: Engine, now: datetime) -> None:
    app = make_app(sqlite_engine, now)
    code, out = _run(app, "accounts", "add", "12345", "--name", "x")
    assert code == 2 and "not an AWS account id" in out
    code, out = _run(app, "accounts", "add", PROD, "--name", "x", "--channel", "nowhere")
    assert code == 2 and "'nowhere' is not in [notify.channels]" in out
    code, out = _run(app, "accounts", "add", PROD, "--name", "x", "--role-arn", "admin")
    assert code == 2 and "not an IAM role ARN" in out
    with sqlite_engine.connect() as conn:
        assert list_accounts(conn) == []


def test_configured_accounts_enter_the_registry_and_leave_it(tmp_path: Path, now: datetime) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    config_file = tmp_path / "noticedesk.toml"
    config_file.write_text(
        '[notify.channels.ops]\ntype = "slack"\nurl = { env = "OPS_URL" }\n\n'
        f'[[accounts]]\nid = "{PROD}"\nname = "Prod"\nlanguage = "ja"\nchannels = ["ops"]\n'
    )
    app = App(db_url=db, config=load_config(config_file), now=lambda: now)
    code, out = _run(app, "accounts", "list", "--json")
    assert json.loads(out)["source"] == "config" and json.loads(out)["channels"] == ["ops"]
    code, out = _run(app, "accounts", "remove", PROD)
    assert code == 2 and "configured in [[accounts]]" in out
    app.close()
    emptied = App(db_url=db, config=Config(), now=lambda: now)
    assert _run(emptied, "accounts", "list", "--json") == (0, "")
    emptied.close()


def test_a_configured_account_must_route_to_known_channels(tmp_path: Path) -> None:
    config_file = tmp_path / "noticedesk.toml"
    config_file.write_text(f'[[accounts]]\nid = "{PROD}"\nname = "Prod"\nchannels = ["ops"]\n')
    result = CliRunner().invoke(cli, ["--config", str(config_file), "accounts", "list"])
    assert result.exit_code == 2 and "channel 'ops' is not in [notify.channels]" in result.output


def test_import_org_adds_active_members_and_keeps_registered_ones(
    aws: ClientFactory, engine: Engine, now: datetime
) -> None:
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    created = organizations.create_account(AccountName="Shop", Email="shop@example.com")
    shop = organizations.describe_create_account_status(
        CreateAccountRequestId=created["CreateAccountStatus"]["Id"]
    )["CreateAccountStatus"]["AccountId"]
    listed = organization_accounts(organizations)
    management = next(entry["Id"] for entry in listed if entry["Id"] != shop)
    with engine.begin() as conn:
        save_account(conn, Account(management, "Management, by hand"), now=now)
        report = import_accounts(conn, listed, now=now)
        again = import_accounts(conn, listed, now=now)
        names = {account.account_id: (account.name, account.source) for account in list_accounts(conn)}
    assert report.added == [shop] and report.kept == [management]
    assert again.added == [] and again.renamed == []
    assert names == {shop: ("Shop", "org"), management: ("Management, by hand", "cli")}


def test_import_org_outside_an_organization_says_so(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    with pytest.raises(AwsError, match="not in an AWS Organization"):
        organization_accounts(boto3.client("organizations", region_name="us-east-1"))
    code, out = _run(make_app(sqlite_engine, now), "accounts", "import-org")
    assert code == 2 and "not in an AWS Organization" in out


def test_the_registered_role_is_assumed_with_its_external_id(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    with sqlite_engine.begin() as conn:
        role = RoleToAssume(f"arn:aws:iam::{PROD}:role/Registered", "ext-1")
        save_account(conn, Account(PROD, "Prod", role_arn=role.arn, external_id=role.external_id), now=now)
    app = make_app(sqlite_engine, now)
    calls: list[dict[str, object]] = []

    def who(factory: ClientFactory) -> str:
        sts = factory.client("sts", account_id=PROD)
        return str(sts.get_caller_identity()["Arn"])

    registered = app.clients(default_role="FromConfig")
    registered._base().events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: calls.append(params)
    )
    assert ":assumed-role/Registered/" in who(registered)
    assert calls and calls[0]["ExternalId"] == "ext-1"
    assert ":assumed-role/Explicit/" in who(app.clients(role_name="Explicit", default_role="FromConfig"))
    assert registered.roles == {PROD: role}


def test_cases_summaries_and_replies_name_the_account(engine: Engine, now: datetime) -> None:
    from test_cases import NOTICE, triage
    from triage_helpers import mail_bytes

    (first,) = triage(engine, now, mail_bytes(NOTICE))  # about account 111122223333
    app = make_app(engine, now)
    app.console.width = 200
    assert json.loads(_run(app, "cases", "--json")[1])["unknown_account"] is False  # no registry in use
    with engine.begin() as conn:
        save_account(conn, Account(PROD, "Other"), now=now)
    board = json.loads(_run(app, "cases", "--json")[1])
    assert (board["account_name"], board["unknown_account"]) == (None, True)
    assert "111122223333 (unknown account)" in _run(app, "case", "show", str(first.case_id))[1]
    assert "unknown account" in _run(app, "cases")[1]
    with engine.begin() as conn:
        save_account(conn, Account("111122223333", "Shop"), now=now)
    assert json.loads(_run(app, "cases", "--json")[1])["account_name"] == "Shop"
    assert "account 111122223333 (Shop)" in _run(app, "case", "show", str(first.case_id))[1]
    assert "Shop" in _run(app, "cases")[1]
    assert "account 111122223333 (Shop)" in _run(app, "summary", str(first.case_id), "--lang", "en")[1]
    assert "111122223333 (Shop)" in _run(app, "reply", str(first.case_id))[1]


def test_diagnose_reads_the_regions_registered_for_the_account(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    from fixes_helpers import make_case
    from sqlalchemy import select

    from noticedesk.store.tables import case_events

    case_id = make_case(sqlite_engine, now)  # account 123456789012, moto's own
    with sqlite_engine.begin() as conn:
        save_account(conn, Account(PROD, "Prod", regions=("eu-west-1", "ap-northeast-1")), now=now)
    app = make_app(sqlite_engine, now)
    code, out = _run(app, "diagnose", str(case_id), "--checks", "public-amis", "--json")
    assert code in (0, 1), out
    with sqlite_engine.connect() as conn:
        detail = conn.execute(
            select(case_events.c.detail).where(case_events.c.type == "diagnosis")
        ).scalar_one()
    assert detail["regions"] == ["eu-west-1", "ap-northeast-1"]


def test_a_contact_must_be_an_address(sqlite_engine: Engine, now: datetime, tmp_path: Path) -> None:
    code, out = _run(make_app(sqlite_engine, now), "accounts", "add", PROD, "--name", "x", "--contact", "bob")
    assert code == 2 and "'bob' is not an e-mail address" in out
    config_file = tmp_path / "noticedesk.toml"
    config_file.write_text(f'[[accounts]]\nid = "{PROD}"\nname = "Prod"\ncontacts = ["bob"]\n')
    result = CliRunner().invoke(cli, ["--config", str(config_file), "accounts", "list"])
    assert result.exit_code == 2 and "accounts.0.contacts.0" in result.output
