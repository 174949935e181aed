from __future__ import annotations

import json
from pathlib import Path

import pytest

from noticedesk.feedback.events import FeedbackFormatError, normalise_address, parse_document, parse_line
from tests.conftest import DATA

FEEDBACK = DATA / "ses" / "feedback.jsonl"


def documents() -> list[dict[str, object]]:
    return [json.loads(line) for line in FEEDBACK.read_text().splitlines()]


def test_every_bounced_recipient_becomes_an_event_and_only_those() -> None:
    events = parse_document(documents()[0]).events
    assert [event.address for event in events] == ["nobody@example.org", "gone@example.org"]
    assert {event.bounce_sub_type for event in events} == {"General"}
    assert events[0].diagnostic == "smtp; 550 5.1.1 user unknown"
    assert events[0].region == "us-east-1" and events[0].identity == "mail.example.jp"
    assert events[0].dedupe_key != events[1].dedupe_key


def test_every_type_of_the_fixture_file_is_understood() -> None:
    types = [
        event.event_type for line in FEEDBACK.read_text().splitlines() for event in parse_line(line).events
    ]
    assert set(types) == {
        "bounce",
        "complaint",
        "delivery",
        "send",
        "delivery-delay",
        "reject",
        "rendering-failure",
        "open",
        "click",
        "subscription",
    }


def test_an_sns_envelope_is_decoded_twice_and_keeps_its_message_id() -> None:
    document = parse_document(documents()[-1])
    assert document.sns_message_id == "6f1a0c3e-2b4d-5e6f-8a9b-0c1d2e3f4a5b"
    assert [event.address for event in document.events] == ["angry@example.com", "angrier@example.com"]
    assert all(event.configuration_set == "prod-marketing" for event in document.events)


def test_moto_style_envelope_with_an_object_message_is_accepted() -> None:
    envelope = {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:eu-west-1:1:t"}
    envelope["Message"] = documents()[1]  # type: ignore[assignment]
    document = parse_document(envelope)
    assert document.events[0].address == "reader@example.net"


@pytest.mark.parametrize("name", ["Rendering Failure", "RENDERING_FAILURE", "renderingFailure"])
def test_event_type_names_match_leniently(name: str) -> None:
    record = {
        "eventType": name,
        "failure": {"templateName": "t"},
        "mail": {"timestamp": "2026-11-28T12:00:00Z"},
    }
    assert parse_document(record).events[0].event_type == "rendering-failure"


def test_identity_and_event_records_of_the_same_feedback_share_the_dedupe_key() -> None:
    identity = documents()[1]
    event_record = {**identity, "eventType": "Complaint"}
    del event_record["notificationType"]
    assert parse_document(identity).events[0].dedupe_key == parse_document(event_record).events[0].dedupe_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Nobody@Example.ORG", "nobody@example.org"),
        ('"Gone Person" <Gone@Example.org>', "gone@example.org"),
        ("  a@b.example.  ", "a@b.example"),
        ("not-an-address", None),
        ("@example.org", None),
        ("a b@example.org", None),
    ],
)
def test_addresses_are_normalised(raw: str, expected: str | None) -> None:
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    "line",
    [
        "{not json",
        "[]",
        '{"hello": "world"}',
        '{"notificationType": "Bounce", "bounce": {}, "mail": {}}',
        '{"Type": "SubscriptionConfirmation", "Message": "hi"}',
        '{"Type": "Notification", "Message": "not json"}',
    ],
)
def test_unusable_documents_are_refused(line: str) -> None:
    with pytest.raises(FeedbackFormatError):
        parse_line(line)


def test_fixture_file_exists() -> None:
    assert Path(FEEDBACK).is_file()
