"""AWS Health events map to the same kinds and facts as the mails."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from noticedesk.errors import ParseError
from noticedesk.notices.health import health_event_to_notice
from noticedesk.notices.model import Kind, Stage

HEALTH = Path(__file__).parent / "data" / "health"


def _events(name: str) -> list[object]:
    text = (HEALTH / name).read_text()
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines()]
    document = json.loads(text)
    return document if isinstance(document, list) else [document]


def test_risk_event_is_a_compromised_account_with_its_facts() -> None:
    notice = health_event_to_notice(_events("risk-credentials-exposed.json")[0], "risk.json")
    assert (notice.kind, notice.stage, notice.rule_id) == (
        Kind.ACCOUNT_COMPROMISED,
        Stage.NOTICE,
        "health:AWS_RISK_",
    )
    facts = notice.facts
    assert facts.account_id == "111122223333"
    assert facts.access_key_ids == ("AKIA2E0A8F3B244C9986",)
    assert facts.iam_users == ("ci-deployer",)
    assert facts.exposed_urls == ("https://github.com/example-org/deploy-tools",)
    assert facts.reply_by == datetime(2026, 12, 1, tzinfo=UTC)
    assert facts.regions == ()  # "global" is not a region
    assert notice.received_at == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def test_abuse_events_carry_their_type_and_a_closed_one_is_resolved() -> None:
    scan, phishing = (health_event_to_notice(event, "abuse.json") for event in _events("abuse-events.json"))
    assert (scan.kind, scan.facts.abuse_types, scan.facts.instance_ids, scan.facts.regions) == (
        Kind.ABUSE_REPORT,
        ("port-scan",),
        ("i-0a1b2c3d4e5f60718",),
        ("ap-northeast-1",),
    )
    assert (phishing.facts.abuse_types, phishing.stage) == (("phishing",), Stage.RESOLVED)


def test_ses_events() -> None:
    site, bounce = (health_event_to_notice(event, "e.jsonl") for event in _events("events.jsonl"))
    assert site.kind is Kind.SES_VULNERABLE_SITE
    assert (bounce.kind, bounce.facts.bounce_rate, bounce.facts.regions) == (
        Kind.SES_BOUNCE,
        11.5,
        ("us-west-2",),
    )


@pytest.mark.parametrize(
    "document",
    [[], "text", {"detail": "x"}, {"detail": {}}, {"detail": {"eventTypeCode": 5}}, None],
)
def test_wrong_shapes_raise_parse_error_naming_the_source(document: object) -> None:
    with pytest.raises(ParseError, match=r"^wrong\.json \[message 3\]: "):
        health_event_to_notice(document, "wrong.json", 3)
