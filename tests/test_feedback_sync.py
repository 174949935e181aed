from __future__ import annotations

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber
from sqlalchemy import Engine

from noticedesk.feedback.events import parse_line
from noticedesk.feedback.ingest import ingest_batches
from noticedesk.feedback.suppressions import find_suppression
from noticedesk.feedback.sync import Throttle, import_suppressions, push_suppressions
from noticedesk.feedback.verdicts import PolicySettings
from tests.conftest import DATA

NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def client() -> object:
    return boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def throttle(sleeps: list[float]) -> Throttle:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    return Throttle(2.0, sleep=sleep, monotonic=lambda: clock[0])


def load(engine: Engine) -> None:
    lines = (DATA / "ses" / "feedback.jsonl").read_text().splitlines()
    ingest_batches(engine, [(parse_line(line), "f") for line in lines], PolicySettings(), NOW)


def test_push_sends_suppressions_for_good_once_rate_limited(engine: Engine) -> None:
    load(engine)
    sesv2 = client()
    expected = [
        ("a@example.org", "BOUNCE"),
        ("angrier@example.com", "COMPLAINT"),
        ("angry@example.com", "COMPLAINT"),
        ("gone@example.org", "BOUNCE"),
        ("nobody@example.org", "BOUNCE"),
        ("reader@example.net", "COMPLAINT"),
    ]  # known@ is already at SES; not-spam, soft, undetermined and content are not pushed
    sleeps: list[float] = []
    with Stubber(sesv2) as stub:  # type: ignore[arg-type]
        for address, reason in expected:
            stub.add_response("put_suppressed_destination", {}, {"EmailAddress": address, "Reason": reason})
        result = push_suppressions(engine, sesv2, NOW, throttle(sleeps), batch_size=4)
        stub.assert_no_pending_responses()
    assert result.pushed == 6 and result.failed == []
    assert sleeps == [0.5] * 5
    with Stubber(sesv2) as stub:  # type: ignore[arg-type]
        assert push_suppressions(engine, sesv2, NOW, throttle([])).pushed == 0  # idempotent
    with engine.connect() as connection:
        row = find_suppression(connection, "a@example.org")
    assert row is not None and row.at_ses and row.synced_at == NOW


def test_a_failed_call_is_reported_and_the_rest_goes_on(engine: Engine) -> None:
    load(engine)
    sesv2 = client()
    with Stubber(sesv2) as stub:  # type: ignore[arg-type]
        stub.add_client_error("put_suppressed_destination", "TooManyRequestsException")
        for _ in range(5):
            stub.add_response("put_suppressed_destination", {})
        result = push_suppressions(engine, sesv2, NOW, throttle([]))
    assert result.failed == ["a@example.org"] and result.pushed == 5


def test_import_marks_addresses_suppressed_at_ses_and_later_events_keep_it(engine: Engine) -> None:
    sesv2 = client()
    with Stubber(sesv2) as stub:  # type: ignore[arg-type]
        stub.add_response(
            "list_suppressed_destinations",
            {
                "SuppressedDestinationSummaries": [
                    {"EmailAddress": "Listed@Example.org", "Reason": "BOUNCE", "LastUpdateTime": NOW}
                ],
                "NextToken": "page-2",
            },
            {"PageSize": 1000},
        )
        stub.add_response(
            "list_suppressed_destinations",
            {
                "SuppressedDestinationSummaries": [
                    {"EmailAddress": "soft@example.org", "Reason": "COMPLAINT", "LastUpdateTime": NOW}
                ]
            },
            {"PageSize": 1000, "NextToken": "page-2"},
        )
        assert import_suppressions(engine, sesv2, NOW, throttle([])).imported == 2
    load(engine)  # soft@ gets one soft bounce: still suppressed, because SES holds it
    with engine.connect() as connection:
        listed = find_suppression(connection, "listed@example.org")
        soft = find_suppression(connection, "soft@example.org")
    assert listed is not None and listed.active_at(NOW)
    assert soft is not None and soft.active_at(NOW) and soft.soft_bounce_count == 1
