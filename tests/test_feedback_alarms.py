from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from botocore.stub import Stubber
from sqlalchemy import Engine, select

from noticedesk.aws.clients import ClientFactory
from noticedesk.config import SesConfig
from noticedesk.feedback.alarms import Thresholds, evaluate
from noticedesk.feedback.events import parse_line
from noticedesk.feedback.files import check_alarms
from noticedesk.feedback.policy import PolicySettings
from noticedesk.feedback.rates import Rate, cloudwatch_rates, local_rates
from noticedesk.feedback.store import ingest_batches
from noticedesk.store.tables import case_events, cases

NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def rate(sends: int, bounces: int, complaints: int) -> Rate:
    return Rate("account", "111122223333", "111122223333", sends, 0, bounces, 0, complaints, sends, "sends")


def test_levels_follow_the_thresholds() -> None:
    thresholds = Thresholds()
    assert evaluate([rate(1000, 20, 0)], thresholds) == []
    [warn] = evaluate([rate(1000, 25, 0)], thresholds)
    assert (warn.level, warn.metric) == ("warn", "bounce")
    [critical] = evaluate([rate(1000, 50, 0)], thresholds)
    assert critical.level == "critical"
    [complaint] = evaluate([rate(10_000, 0, 10)], thresholds)
    assert (complaint.level, complaint.metric) == ("critical", "complaint")
    assert evaluate([rate(50, 25, 5)], thresholds) == []  # too few sends to judge


def line(kind: str, index: int) -> str:
    mail = {
        "messageId": f"m{index}",
        "timestamp": "2026-11-28T10:00:00.000Z",
        "sendingAccountId": "111122223333",
        "sourceArn": "arn:aws:ses:us-east-1:111122223333:identity/mail.example.jp",
        "destination": [f"u{index}@example.org"],
    }
    if kind == "send":
        return json.dumps({"eventType": "Send", "send": {}, "mail": mail})
    bounce = {
        "feedbackId": f"fb{index}",
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": f"u{index}@example.org"}],
        "timestamp": "2026-11-28T10:01:00.000Z",
    }
    return json.dumps({"eventType": "Bounce", "bounce": bounce, "mail": mail})


def test_critical_bounce_rate_opens_one_early_warning_case(engine: Engine) -> None:
    lines = [line("send", index) for index in range(200)] + [line("bounce", index) for index in range(12)]
    ingest_batches(engine, [(parse_line(text), "x") for text in lines], PolicySettings(), NOW)
    with engine.connect() as connection:
        rates = local_rates(connection, NOW, timedelta(days=14))
    account = next(item for item in rates if item.scope == "account")
    assert (account.sends, account.hard_bounces, account.bounce_rate) == (200, 12, 0.06)
    alarms, case_ids = check_alarms(engine, SesConfig(), NOW)
    assert {alarm.level for alarm in alarms} == {"critical"} and len(
        case_ids
    ) == 3  # account, region, identity
    assert len(set(case_ids)) == 1
    again, none = check_alarms(engine, SesConfig(), NOW)
    assert again and none == []  # raised once a day
    with engine.connect() as connection:
        case = connection.execute(select(cases)).one()
        notes = connection.execute(select(case_events.c.type)).scalars().all()
    assert (case.kind, case.stage, case.account_id) == ("ses-bounce", "early-warning", "111122223333")
    assert notes == ["note"] * 3


def test_cloudwatch_rates_side_by_side_and_errors_reported() -> None:
    factory = ClientFactory()
    east = factory.client("cloudwatch", "us-east-1")
    west = factory.client("cloudwatch", "us-west-2")
    with Stubber(east) as stub_east, Stubber(west) as stub_west:
        stub_east.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "bounce", "Values": [0.031, 0.02]},
                    {"Id": "complaint", "Values": [0.0004]},
                ]
            },
        )
        stub_west.add_client_error("get_metric_data", "AccessDenied")
        east_rate, west_rate = cloudwatch_rates(factory, ["us-east-1", "us-west-2"], NOW)
    assert (east_rate.bounce_rate, east_rate.complaint_rate, east_rate.error) == (0.031, 0.0004, None)
    assert west_rate.bounce_rate is None and "AccessDenied" in (west_rate.error or "")
