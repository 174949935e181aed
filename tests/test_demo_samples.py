"""The bundled demo samples triage as intended: kind, stage, facts, joined cases, no spoof filed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from noticedesk.cases.queries import get_case
from noticedesk.cases.runbooks import checklist_for
from noticedesk.cli.demo import sample_paths
from noticedesk.mail.readers import read_sources
from noticedesk.store.db import open_store
from noticedesk.triage import Triage, TriageResult

NOW = datetime(2026, 11, 29, 0, 30, tzinfo=UTC)
ACCOUNT = "111122223333"

# file → (kind, stage, authenticity, files a case, facts that must be present)
EXPECTED: dict[str, tuple[str, str, str, bool, dict[str, Any]]] = {
    "01-compromised-access-key.eml": (
        "account-compromised",
        "notice",
        "unverified",
        True,
        {
            "account_id": ACCOUNT,
            "case_ref": "177012345600",
            "access_key_ids": ["AKIA4DEMOLEAKEDKEY01"],
            "iam_users": ["ci-deployer"],
            "reply_by": "2026-12-03T00:00:00+00:00",
            "mitigations": [
                "quarantine policy attached (AWSCompromisedKeyQuarantine)",
                "ability to create some resources limited",
            ],
        },
    ),
    "02-abuse-report-port-scan.eml": (
        "abuse-report",
        "notice",
        "unverified",
        True,
        {
            "account_id": ACCOUNT,
            "case_ref": "12345678901-1",
            "abuse_types": ["port-scan"],
            "instance_ids": ["i-0a1b2c3d4e5f60718"],
            "ip_addresses": ["203.0.113.45"],
            "regions": ["ap-northeast-1"],
            "abuse_time": "2026-11-27T21:14:03+00:00",
        },
    ),
    "03-abuse-report-port-scan-reminder.eml": (
        "abuse-report",
        "reminder",
        "unverified",
        True,
        {"account_id": ACCOUNT, "case_ref": "12345678901-1", "abuse_types": ["port-scan"]},
    ),
    "04-ses-bounce-review.eml": (
        "ses-bounce",
        "notice",
        "unverified",
        True,
        {
            "account_id": ACCOUNT,
            "bounce_rate": 11.2,
            "regions": ["us-east-1"],
            "reply_by": "2026-12-10T00:00:00+00:00",
        },
    ),
    "05-ses-complaint-probation.eml": (
        "ses-complaint",
        "notice",
        "unverified",
        True,
        {"account_id": ACCOUNT, "complaint_rate": 0.62, "regions": ["us-east-1"]},
    ),
    "06-ses-vulnerable-site-review.eml": (
        "ses-vulnerable-site",
        "notice",
        "unverified",
        True,
        {"account_id": ACCOUNT, "regions": ["us-east-1"], "reply_by": "2026-12-09T00:00:00+00:00"},
    ),
    "07-account-on-hold.eml": (
        "account-hold",
        "notice",
        "unverified",
        True,
        {"account_id": ACCOUNT, "reply_by": "2026-12-04T00:00:00+00:00"},
    ),
    "08-forwarded-ja-abuse-report-spam.eml": (
        "abuse-report",
        "notice",
        "unverified",
        True,
        {
            "account_id": "444455556666",
            "case_ref": "98765432109-1",
            "abuse_types": ["spam"],
            "instance_ids": ["i-0f9e8d7c6b5a49382"],
            "regions": ["ap-northeast-1"],
            "forwarded_by": "yamada@sample-shoji.example.jp",
        },
    ),
    # A lookalike sender that threatens a hold: classified like a hold, never filed.
    "09-phishing-overdue-invoice.eml": ("account-hold", "notice", "suspicious", False, {"account_id": None}),
    "10-sns-subscription-confirmation.eml": ("aws-other", "notice", "unverified", False, {}),
    "11-health-risk-credentials-exposed.json": (
        "account-compromised",
        "notice",
        "unverified",
        True,
        {
            "account_id": ACCOUNT,
            "access_key_ids": ["AKIA4DEMOLEAKEDKEY01"],
            "iam_users": ["ci-deployer"],
            "reply_by": "2026-12-03T00:00:00+00:00",
        },
    ),
}


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One store for the module: the samples are triaged once and every test reads the outcome."""
    engine = open_store(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'noticedesk.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def results(demo_engine: Engine) -> dict[str, TriageResult]:
    triage = Triage(demo_engine, now=lambda: NOW)
    return {Path(result.source).name: result for result in triage.run(read_sources(sample_paths()))}


def test_the_demo_ships_exactly_the_expected_samples() -> None:
    names = [Path(path).name for path in sample_paths()]
    assert names == sorted(EXPECTED)
    assert 9 <= len(names) <= 11


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_is_understood(results: dict[str, TriageResult], name: str) -> None:
    kind, stage, authenticity, filed, facts = EXPECTED[name]
    result = results[name]
    assert result.error is None and result.warnings == ()
    data = result.to_json()
    assert (data["kind"], data["stage"], data["authenticity"]) == (kind, stage, authenticity)
    assert (data["case_id"] is not None) == filed
    for fact, value in facts.items():
        assert data[fact] == value, f"{name}: {fact}"


def test_every_mail_sample_is_a_complete_rfc5322_message() -> None:
    required = ("Message-ID", "Date", "From", "To", "Subject", "MIME-Version", "Content-Type")
    for path in sample_paths():
        if not path.endswith(".eml"):
            continue
        head = Path(path).read_bytes().split(b"\n\n", 1)[0].decode("ascii")
        names = {line.split(":", 1)[0] for line in head.splitlines() if line and not line[0].isspace()}
        assert set(required) <= names, f"{path}: missing {set(required) - names}"


def test_the_reminder_joins_the_first_abuse_case(
    demo_engine: Engine, results: dict[str, TriageResult]
) -> None:
    first = results["02-abuse-report-port-scan.eml"].case_id
    assert first is not None
    assert results["03-abuse-report-port-scan-reminder.eml"].case_id == first
    case = get_case(demo_engine, first)
    assert case.summary.stage == "reminder"
    # The reminder is the newest notice: its own "within 24 hours" sets the clock.
    assert case.summary.reply_by == datetime(2026, 11, 29, 23, 20, 9, tzinfo=UTC)
    assert [item.key for item in case.checklist] == [
        step.key for step in checklist_for("abuse-report", ("port-scan",))
    ]


def test_the_health_event_joins_the_compromised_case(results: dict[str, TriageResult]) -> None:
    mail = results["01-compromised-access-key.eml"].case_id
    assert mail is not None
    assert results["11-health-risk-credentials-exposed.json"].case_id == mail


def test_the_phishing_mail_opens_no_case(results: dict[str, TriageResult]) -> None:
    phishing = results["09-phishing-overdue-invoice.eml"]
    assert phishing.case_id is None
    assert phishing.notice is not None
    assert any("aws-account-billing-alert.com" in reason for reason in phishing.notice.authenticity_reasons)


def test_the_forwarded_japanese_mail_is_a_case_for_the_other_account(
    demo_engine: Engine, results: dict[str, TriageResult]
) -> None:
    forwarded = results["08-forwarded-ja-abuse-report-spam.eml"]
    assert forwarded.forwarded_by == "yamada@sample-shoji.example.jp"
    assert forwarded.case_id is not None
    case = get_case(demo_engine, forwarded.case_id)
    assert (case.summary.kind, case.summary.account_id) == ("abuse-report", "444455556666")
    assert case.summary.title == "Your AWS Abuse Report [98765432109-1] [AWS ID 444455556666]"
    assert "spam-stop-mta" in [item.key for item in case.checklist]


def test_the_samples_file_seven_cases(results: dict[str, TriageResult]) -> None:
    case_ids = {result.case_id for result in results.values() if result.case_id is not None}
    assert len(case_ids) == 7
