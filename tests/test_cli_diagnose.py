"""End to end: a moto server seeded with planted problems and clean look-alikes, the real CLI in a
subprocess pointed at it with AWS_ENDPOINT_URL, every problem found and nothing clean flagged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import insert, select

from noticedesk.aws.checks.catalogue import CATALOGUE
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import Diagnosis
from noticedesk.aws.findings import Finding
from noticedesk.cli import App, cli
from noticedesk.config import Config
from noticedesk.demo.aws import seed_demo_account
from noticedesk.store.db import open_store
from noticedesk.store.tables import case_events, cases, findings
from tests.conftest import FAKE_AWS_ENV, moto_server

REGIONS = "ap-northeast-1,us-west-2"


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    with moto_server() as endpoint:
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
            **FAKE_AWS_ENV,
            "AWS_ENDPOINT_URL": endpoint,
        }
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            planted = seed_demo_account(ClientFactory(role_name="noticedesk"))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        yield env, planted


def _run(env: dict[str, str], tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    config = tmp_path / "noticedesk.toml"
    config.write_text('[diagnose]\nusual_regions = ["ap-northeast-1"]\nrecent_days = 0\n')
    completed = subprocess.run(
        [sys.executable, "-m", "noticedesk", "--db", f"sqlite:///{tmp_path / 'nd.db'}", "--config",
         str(config), "diagnose", "--role-name", "noticedesk", "--regions", REGIONS, "--json", *args],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return [json.loads(line) for line in completed.stdout.splitlines()]


def test_every_planted_problem_found_and_no_clean_resource_flagged(
    seeded: tuple[dict[str, str], dict[str, Any]], tmp_path: Path
) -> None:
    env, planted = seeded
    lines = _run(env, tmp_path, "--account", planted["account_id"])
    for line in lines:
        assert set(line) >= {"check", "status", "severity", "account_id", "region", "resource_id", "detail"}
        assert line["account_id"] == planted["account_id"]
        assert planted["leaked_key"] not in line["detail"]
    failed = {(line["check"], line["resource_id"]) for line in lines if line["status"] == "fail"}
    expected = {
        ("public-amis", planted["public_ami"]),
        ("public-ebs-snapshots", planted["public_snapshot"]),
        ("public-rds-snapshots", planted["public_db_snapshot"]),
        ("security-groups", planted["open_security_group"]),
        ("instances", planted["gpu_instance"]),
        ("quarantine-policy", planted["leaked_user"]),
        ("console-mfa", planted["console_without_mfa"]),
        ("persistence", planted["external_role"]),
    }
    assert expected <= failed, expected - failed
    clean = {
        planted[name]
        for name in (
            "private_ami", "private_snapshot", "private_db_snapshot", "web_security_group", "clean_instance",
            "console_with_mfa", "internal_role",
        )
    }  # fmt: skip
    assert not {resource for _check, resource in failed} & clean
    assert failed - expected == set(), "nothing else is flagged"
    passed = {line["resource_id"] for line in lines if line["status"] == "pass"}
    assert clean - {planted["internal_role"]} <= passed  # persistence lists only what it flags
    unread = {line["check"] for line in lines if line["status"] == "error"}
    assert unread <= {"block-public-access", "ses-account", "ses-suppression", "ses-feedback"}  # not in moto


def test_case_mode_stores_findings_and_the_timeline_event(
    seeded: tuple[dict[str, str], dict[str, Any]], tmp_path: Path
) -> None:
    env, planted = seeded
    engine = open_store(f"sqlite:///{tmp_path / 'nd.db'}")
    now = datetime.now(UTC)
    facts = {"account_id": planted["account_id"], "ip_addresses": [planted["reported_ip"]]}
    with engine.begin() as connection:
        case_id = connection.execute(
            insert(cases).values(
                case_key="abuse-1", account_id=planted["account_id"], kind="abuse-report", stage="notice",
                status="new", title="EC2 abuse report", authenticity="verified", facts=facts,
                opened_at=now, updated_at=now,
            )
        ).inserted_primary_key[0]  # fmt: skip
    lines = _run(env, tmp_path, str(case_id))
    target = [line for line in lines if line["check"] == "abuse-target"]
    assert [(t["status"], t["resource_id"]) for t in target] == [("fail", planted["reported_instance"])]
    assert {line["check"] for line in lines} <= {"abuse-target", "instances", "security-groups"}
    with engine.connect() as connection:
        stored = connection.execute(select(findings).where(findings.c.case_id == case_id)).all()
        (event,) = connection.execute(select(case_events).where(case_events.c.type == "diagnosis")).all()
    engine.dispose()
    assert len(stored) == len(lines) and {row.run_id for row in stored} == {lines[0]["run_id"]}
    assert event.detail["counts"]["fail"] == sum(1 for line in lines if line["status"] == "fail")


def test_checks_catalogue_and_policy_commands() -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["checks", "--json"])
    assert listed.exit_code == 0
    assert [json.loads(line)["id"] for line in listed.output.splitlines()] == [c.id for c in CATALOGUE]
    policy = runner.invoke(cli, ["policy", "diagnose"])
    assert policy.exit_code == 0
    actions = json.loads(policy.output)["Statement"][0]["Action"]
    assert "cloudtrail:LookupEvents" in actions and "ec2:DescribeSnapshotAttribute" in actions
    assert not [action for action in actions if action.split(":")[1].startswith(("Delete", "Modify", "Put"))]
    unknown = runner.invoke(cli, ["diagnose", "--checks", "nope", "--account", "111122223333"])
    assert unknown.exit_code == 2 and "unknown check" in unknown.output


def _diagnosis_of_many() -> Diagnosis:
    """2 problems, 48 checks that could not read one API in 12 regions, 10 clean: 60 findings."""
    regions = [f"region-{n}" for n in range(12)]
    unread = [
        Finding(
            f"check-{n}", "error", "info", "111122223333", regions[n % 12], None,
            f"check-{n}: not judged, ec2:DescribeInstances in {regions[n % 12]} could not be read",
            {"api": "ec2:DescribeInstances", "error_kind": "access-denied", "error_region": regions[n % 12],
             "error": "UnauthorizedOperation: not allowed"},
        )
        for n in range(48)
    ]  # fmt: skip
    failed = [Finding("public-amis", "fail", "high", "111122223333", "us-east-1", f"ami-{n}", "public", {})
              for n in range(2)]  # fmt: skip
    passed = [
        Finding("root-mfa", "pass", "info", "111122223333", None, f"ok-{n}", "clean", {}) for n in range(10)
    ]
    return Diagnosis("run", "111122223333", tuple(regions), (), (*failed, *unread, *passed), 0, 0.0)


def _printed(only_failed: bool | None) -> str:
    from noticedesk.cli.diagnose import print_diagnosis

    app = App(db_url="sqlite://", config=Config(), console=Console(record=True, width=120))
    print_diagnosis(app, _diagnosis_of_many(), only_failed)
    return app.console.export_text()


def test_many_findings_show_what_needs_a_person_and_errors_one_line_per_api() -> None:
    for shown in (_printed(None), _printed(True)):  # beyond 50 findings, condensed by default
        assert "48 checks could not read ec2:DescribeInstances in 12 regions (access-denied)" in shown
        assert shown.count("could not read") == 1 and "ok-3" not in shown and "ami-1" in shown
        assert "10 passed (not listed: --all lists every finding)" in shown
    everything = _printed(False)
    assert "ok-3" in everything and everything.count("could not be read") == 48


def test_only_failed_leaves_passes_out_of_json(
    seeded: tuple[dict[str, str], dict[str, Any]], tmp_path: Path
) -> None:
    env, planted = seeded
    every = _run(env, tmp_path, "--account", planted["account_id"])
    failed = _run(env, tmp_path, "--account", planted["account_id"], "--only-failed")
    assert any(line["status"] == "pass" for line in every)
    assert failed and {line["status"] for line in failed} <= {"fail", "warn", "error"}
    assert len(failed) == sum(1 for line in every if line["status"] != "pass")
