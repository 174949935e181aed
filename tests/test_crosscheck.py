"""``case verify``: AWS Health and Support cross-check, stubbed with botocore's Stubber (moto has
neither API). Business-plan and permission errors degrade to "not checked" with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import ANY, Stubber
from click.testing import CliRunner
from dkimkit import fixture
from sqlalchemy import Engine

from noticedesk.aws.crosscheck import check_support_case, cross_check
from noticedesk.cases.queries import get_case
from noticedesk.cli import App, cli
from noticedesk.config import Config
from noticedesk.mail.readers import RawItem
from noticedesk.remediation.verification import verify_case
from noticedesk.triage import Triage


class StubbedClients:
    def __init__(self) -> None:
        self.made: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        for service in ("health", "support"):
            client = boto3.client(
                service,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            self.made[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()

    def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
        assert region == "us-east-1"
        return self.made[service]

    def verify_done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def clients() -> Iterator[StubbedClients]:
    stubbed = StubbedClients()
    yield stubbed
    stubbed.verify_done()


def _case(engine: Engine, now: datetime) -> int:
    (result,) = Triage(engine, now=lambda: now).run(
        [RawItem("notice.eml", None, fixture("compromised.eml"), "mail")]
    )
    assert result.case_id is not None
    return result.case_id


EVENT = {
    "arn": "arn:aws:health:global::event/RISK/AWS_RISK_CREDENTIALS_EXPOSED/abc",
    "service": "RISK",
    "eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED",
    "statusCode": "open",
}
SUPPORT_CASE = {
    "caseId": "case-111122223333-abc",
    "displayId": "5244329601",
    "subject": "Your AWS account",
    "status": "opened",
}


def test_confirmed_by_health_and_support(engine: Engine, now: datetime, clients: StubbedClients) -> None:
    case_id = _case(engine, now)
    clients.stubbers["health"].add_response("describe_events", {"events": [EVENT]}, {"filter": ANY})
    clients.stubbers["support"].add_response(
        "describe_cases",
        {"cases": [SUPPORT_CASE]},
        {"displayId": "5244329601", "includeResolvedCases": True, "language": "en"},
    )
    checks = verify_case(engine, case_id, clients, now, "hanako")
    assert [(c.source, c.status) for c in checks] == [("health", "confirmed"), ("support", "confirmed")]
    detail = get_case(engine, case_id)
    assert detail.facts.aws_cross_check is not None
    assert "health: confirmed" in detail.facts.aws_cross_check
    note = detail.timeline[-1]
    assert (note.type, note.actor) == ("note", "hanako")
    assert note.detail["cross_check"][1]["data"]["case_id"] == "case-111122223333-abc"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("SubscriptionRequiredException", "Business"),
        ("AccessDeniedException", "access denied"),
        ("ThrottlingException", "ThrottlingException"),
    ],
)
def test_errors_degrade_to_not_checked(
    sqlite_engine: Engine, now: datetime, clients: StubbedClients, code: str, expected: str
) -> None:
    engine = sqlite_engine
    case_id = _case(engine, now)
    clients.stubbers["health"].add_client_error("describe_events", code, http_status_code=400)
    clients.stubbers["support"].add_client_error("describe_cases", code, http_status_code=400)
    checks = verify_case(engine, case_id, clients, now, "hanako")
    assert [c.status for c in checks] == ["not-checked", "not-checked"]
    assert all(expected in c.detail for c in checks)
    assert "not-checked" in (get_case(engine, case_id).facts.aws_cross_check or "")


def test_not_found_is_said(now: datetime, clients: StubbedClients) -> None:
    other = {**EVENT, "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"}
    clients.stubbers["health"].add_response("describe_events", {"events": [other]}, {"filter": ANY})
    clients.stubbers["support"].add_response("describe_cases", {"cases": []}, None)
    health, support = cross_check(clients, "111122223333", "account-compromised", "5244329601", now)
    assert (health.status, support.status) == ("not-found", "not-found")
    assert "AWS_RISK_*" in health.detail


def test_abuse_references_and_kinds_without_health_events_are_not_asked(
    now: datetime, clients: StubbedClients
) -> None:
    health, support = cross_check(clients, "111122223333", "account-hold", "12000000010-1", now)
    assert health.status == support.status == "not-checked"
    assert "abuse case reference" in support.detail


def test_no_credentials_is_not_checked() -> None:
    class NoCredentials:
        def describe_cases(self, **kwargs: Any) -> Any:
            raise NoCredentialsError()

    class Factory:
        def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
            return NoCredentials()

    check = check_support_case(Factory(), "111122223333", "5244329601")
    assert check.status == "not-checked" and "NoCredentialsError" in check.detail


def test_cli_case_verify(tmp_path: Any, now: datetime) -> None:
    stubbed = StubbedClients()
    stubbed.stubbers["health"].add_client_error("describe_events", "SubscriptionRequiredException")
    stubbed.stubbers["support"].add_response("describe_cases", {"cases": [SUPPORT_CASE]}, None)
    # The command gets its AWS clients from the runtime it is handed: a fake here, no patching.
    app = App(f"sqlite:///{tmp_path / 'nd.db'}", Config(), aws=lambda **_: stubbed)
    mail = tmp_path / "notice.eml"
    mail.write_bytes(fixture("compromised.eml"))
    runner = CliRunner()
    case_id = json.loads(runner.invoke(cli, ["triage", "--json", str(mail)], obj=app).output)["case_id"]
    result = runner.invoke(cli, ["case", "verify", str(case_id), "--json"], obj=app)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["source"], r["status"]) for r in rows] == [("health", "not-checked"), ("support", "confirmed")]
    shown = runner.invoke(cli, ["case", "show", str(case_id)], obj=app).output
    assert "AWS cross-check" in shown and "aws_cross_check" in shown
    missing = runner.invoke(cli, ["case", "verify", "999"], obj=app)
    assert missing.exit_code == 2 and "no case 999" in missing.output
    app.close()
    stubbed.verify_done()
