from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from botocore.stub import Stubber
from sqlalchemy import Engine, select

from noticedesk.aws.clients import ClientFactory
from noticedesk.config import SesConfig
from noticedesk.feedback.alarm_state import check_alarms
from noticedesk.feedback.alarms import Thresholds, evaluate
from noticedesk.feedback.events import parse_line
from noticedesk.feedback.ingest import ingest_batches
from noticedesk.feedback.rates import Rate, cloudwatch_rates, local_rates
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.notices.levels import SES_LEVELS
from noticedesk.store.tables import case_events, cases

NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def rate(sends: int, bounces: int, complaints: int) -> Rate:
    return Rate("account", "111122223333", "111122223333", sends, 0, bounces, 0, complaints, sends, "sends")


def test_levels_follow_the_thresholds() -> None:
    thresholds = Thresholds()
    assert evaluate([rate(1000, 24, 0)], thresholds) == []
    [warn] = evaluate([rate(1000, 25, 0)], thresholds)
    assert (warn.level, warn.metric) == ("warn", "bounce")
    [critical] = evaluate([rate(1000, 40, 0)], thresholds)
    assert critical.level == "critical"
    [complaint] = evaluate([rate(10_000, 0, 8)], thresholds)
    assert (complaint.level, complaint.metric) == ("critical", "complaint")
    [complaint_warn] = evaluate([rate(10_000, 0, 5)], thresholds)
    assert complaint_warn.level == "warn"
    assert evaluate([rate(50, 25, 5)], thresholds) == []  # too few sends to judge


def test_the_defaults_warn_and_page_below_the_level_where_aws_may_review() -> None:
    """AWS may review at 5 % bounces / 0.1 % complaints *or more*: paging at that level is too late."""
    config = SesConfig()
    assert (config.warn_bounce_rate, config.critical_bounce_rate) == (0.025, 0.04)
    assert (config.warn_complaint_rate, config.critical_complaint_rate) == (0.0005, 0.0008)
    assert Thresholds() == Thresholds.from_config(config)  # one source for the defaults
    for level in SES_LEVELS.values():
        warn, critical = (
            (config.warn_bounce_rate, config.critical_bounce_rate)
            if level.metric == "bounce"
            else (config.warn_complaint_rate, config.critical_complaint_rate)
        )
        assert warn < critical < level.review < level.pause


def test_the_thresholds_are_configurable() -> None:
    config = SesConfig(critical_bounce_rate=0.03, warn_bounce_rate=0.01)
    [alarm] = evaluate([rate(1000, 30, 0)], Thresholds.from_config(config))
    assert (alarm.level, alarm.threshold) == ("critical", 0.03)


def test_the_alarm_says_which_aws_level_it_guards() -> None:
    [bounce] = evaluate([rate(1000, 41, 0)], Thresholds())
    assert bounce.sentence == (
        "bounce rate 4.10% ≥ 4.00% (critical) for account 111122223333; "
        "guards AWS's review level (bounce rate 5.0% or more; sending may pause at 10.0% or more)"
    )
    assert bounce.to_json()["guards"] == bounce.guards
    [complaint] = evaluate([rate(10_000, 0, 6)], Thresholds())
    assert (
        "review level (complaint rate 0.1% or more; sending may pause at 0.5% or more)" in complaint.sentence
    )
    late = Thresholds(critical_bounce=0.06)
    [past_review] = evaluate([rate(1000, 70, 0)], late)
    assert "AWS may already review" in past_review.sentence and "10.0% or more" in past_review.sentence
    [past_pause] = evaluate([rate(1000, 120, 0)], Thresholds(critical_bounce=0.10))
    assert "at or past AWS's pause level (10.0% or more)" in past_pause.sentence


def test_the_alarm_says_when_the_rate_itself_has_reached_an_aws_level() -> None:
    [burst] = evaluate([rate(120, 20, 0)], Thresholds())  # 16.67 %: past the pause level
    assert burst.sentence.endswith(
        "the rate is at or past the level where AWS may pause sending (10.0% or more)"
    )
    [review] = evaluate([rate(1000, 60, 0)], Thresholds())
    assert review.sentence.endswith(
        "the rate is at or past the level where AWS may start a review (5.0% or more)"
    )
    [below] = evaluate([rate(1000, 41, 0)], Thresholds())
    assert "the rate is at or past" not in below.sentence


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
    check = check_alarms(engine, SesConfig(), now=NOW)
    assert {alarm.level for alarm in check.alarms} == {"critical"}
    assert len(check.raised) == 3  # account, region, identity
    assert len(check.case_ids) == 1
    again = check_alarms(engine, SesConfig(), now=NOW)
    assert again.alarms and again.raised == [] and again.case_ids == []  # raised once a day
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
