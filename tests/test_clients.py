"""The client factory never lets a case about one account touch another by mistake."""

from __future__ import annotations

from datetime import datetime

import pytest
from fixes_helpers import add_findings, apply_all, finding, make_case, remediation
from sqlalchemy import Engine, select, update

from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.crosscheck import check_support_case
from noticedesk.errors import AwsError, RemediationError
from noticedesk.store.tables import actions, cases, findings

OWN = "123456789012"  # moto's default account: the one the testing credentials belong to
OTHER = "111122223333"


def test_own_account_without_a_role_another_only_with_one(aws: ClientFactory) -> None:
    factory = ClientFactory()
    assert factory.own_account() == OWN
    factory.client("iam", None, OWN).list_users()
    factory.client("iam").list_users()  # no account named: the credentials' own
    with pytest.raises(AwsError, match=f"credentials are for account {OWN}, not {OTHER}.*role"):
        factory.client("iam", None, OTHER)
    ClientFactory(role_name="noticedesk").client("iam", None, OTHER).list_users()


def test_a_fix_for_another_account_fails_before_any_call(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    factory = ClientFactory()
    iam = factory.client("iam")
    iam.create_user(UserName="ci")
    key = iam.create_access_key(UserName="ci")["AccessKey"]["AccessKeyId"]
    case_id = make_case(sqlite_engine, now)
    add_findings(
        sqlite_engine, case_id, now, [finding("access-key", key, None, access_key_id=key, user_name="ci")]
    )
    with sqlite_engine.begin() as connection:  # the notice named another account than the credentials'
        connection.execute(update(findings).values(account_id=OTHER))
        connection.execute(update(cases).values(account_id=OTHER))
    with pytest.raises(RemediationError, match=f"not {OTHER}.*nothing was applied"):
        apply_all(remediation(sqlite_engine, factory, now), case_id)
    with sqlite_engine.connect() as connection:  # one failure for the run, none recorded per action
        assert set(connection.execute(select(actions.c.status)).scalars()) == {"planned"}
    assert iam.list_access_keys(UserName="ci")["AccessKeyMetadata"][0]["Status"] == "Active"


def test_cross_check_with_another_accounts_credentials_is_not_checked(aws: ClientFactory) -> None:
    checked = check_support_case(ClientFactory(), OTHER, "177012345600")
    assert checked.status == "not-checked" and f"not {OTHER}" in checked.detail


def test_threads_asking_at_once_assume_the_role_once_and_share_one_client(aws: ClientFactory) -> None:
    from concurrent.futures import ThreadPoolExecutor

    factory = ClientFactory(role_name="noticedesk")
    assumed: list[str] = []
    base = factory.session()
    base.events.register("before-call.sts.AssumeRole", lambda **_: assumed.append("AssumeRole"))
    with ThreadPoolExecutor(max_workers=16) as pool:
        clients = list(pool.map(lambda _: factory.client("ec2", "us-west-2", OTHER), range(32)))
    assert assumed == ["AssumeRole"]
    assert len({id(client) for client in clients}) == 1
