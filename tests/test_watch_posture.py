"""The posture scan on a moto account: a public EBS snapshot found before AWS writes about it opens
an early-warning case, once; the account is not read again until it is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from noticedesk.accounts.registry import Account, save_account
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import checks_for
from noticedesk.aws.findings import Finding
from noticedesk.config import Config, DiagnoseConfig, PostureConfig, WatchConfig
from noticedesk.errors import ConfigError
from noticedesk.notices.model import Facts, Kind
from noticedesk.store.tables import cases, checklist_items, outbox
from noticedesk.watch.build import build_watcher
from noticedesk.watch.posture import PostureScan, severe_groups

ACCOUNT = "123456789012"  # moto's own
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
CHECKS = ["public-ebs-snapshots", "root-access-keys", "ses-suppression"]


@pytest.fixture
def public_snapshot(aws: ClientFactory) -> None:
    """In the fake AWS: an EBS snapshot anyone may restore, a severe posture finding."""
    ec2 = aws.client("ec2", "us-east-1")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )


def scan(engine: Engine, clock: list[datetime]) -> PostureScan:
    checks = checks_for(None, Facts(), CHECKS)
    settings = PostureConfig(every_hours=24, checks=CHECKS)
    return PostureScan(engine, settings, DiagnoseConfig(), ClientFactory, checks, lambda: clock[0])


def test_a_public_snapshot_opens_one_early_warning_case(engine: Engine, public_snapshot: None) -> None:
    with engine.begin() as connection:
        save_account(connection, Account(ACCOUNT, "Prod", regions=("us-east-1",)), now=NOW)
    clock = [NOW]
    posture = scan(engine, clock)
    assert [account.account_id for account in posture.due_accounts(NOW)] == [ACCOUNT]
    case_ids = posture.run(NOW)
    assert len(case_ids) == 1
    with engine.connect() as connection:
        case = connection.execute(select(cases).where(cases.c.id == case_ids[0])).one()
        items = connection.execute(select(checklist_items).where(checklist_items.c.case_id == case.id)).all()
        told = connection.execute(select(outbox.c.kind, outbox.c.dedupe_key)).all()
    assert (case.kind, case.stage, case.authenticity, case.account_id) == (
        "account-compromised",
        "early-warning",
        "unverified",
        ACCOUNT,
    )
    assert "public-ebs-snapshots" in case.title and items  # the runbook's checklist comes with it
    kinds = sorted(kind for kind, _key in told)
    assert kinds == ["case.opened", "finding.severe"]
    # Read an hour later: not due yet, nothing read, nothing filed.
    clock[0] = NOW + timedelta(hours=1)
    assert posture.due_accounts(clock[0]) == [] and posture.run(clock[0]) == []
    # A day later it is read again: the open case gets a note, nobody is told twice.
    clock[0] = NOW + timedelta(hours=25)
    assert posture.run(clock[0]) == case_ids
    with engine.connect() as connection:
        assert len(connection.execute(select(cases)).all()) == 1
        assert (
            sorted(kind for kind, _key in connection.execute(select(outbox.c.kind, outbox.c.dedupe_key)))
            == kinds
        )


def test_only_failed_checks_at_or_above_the_floor_warn() -> None:
    checks = {check.id: check for check in checks_for(None, Facts(), CHECKS)}
    found = [
        Finding("public-ebs-snapshots", "fail", "critical", ACCOUNT, "us-east-1", "snap-1", "public"),
        Finding("root-access-keys", "pass", "critical", ACCOUNT, None, None, "none"),
        Finding("ses-suppression", "fail", "medium", ACCOUNT, "us-east-1", None, "off"),
    ]
    assert {kind: len(items) for kind, items in severe_groups(found, checks, "high").items()} == {
        Kind.ACCOUNT_COMPROMISED: 1
    }
    assert {kind: len(items) for kind, items in severe_groups(found, checks, "medium").items()} == {
        Kind.ACCOUNT_COMPROMISED: 1,
        Kind.SES_REVIEW: 1,
    }


def test_the_scan_runs_in_the_watchers_clock_tick(
    engine: Engine, public_snapshot: None, tmp_path: Path
) -> None:
    with engine.begin() as connection:
        save_account(connection, Account(ACCOUNT, "Prod", regions=("us-east-1",)), now=NOW)
    folder = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True)
    config = Config(watch=WatchConfig(maildirs=[folder], posture=PostureConfig(checks=CHECKS)))
    with pytest.raises(ConfigError, match="posture"):
        build_watcher(engine, config, lambda: NOW)
    watcher = build_watcher(engine, config, lambda: NOW, aws_clients=ClientFactory)
    watcher.run_once()  # --once: the scan in line
    with engine.connect() as connection:
        assert connection.execute(select(cases.c.stage)).scalars().all() == ["early-warning"]
