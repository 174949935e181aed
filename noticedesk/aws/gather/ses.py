"""SES per region: account standing (sesv2), reputation metrics, send statistics, identities and
whether their bounces and complaints reach anyone (notification topics, event destinations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from noticedesk.aws.gather import GatherError, Scope, call, item_or_error, pages


@dataclass(frozen=True)
class SesIdentity:
    name: str
    bounce_topic: str | None
    complaint_topic: str | None
    forwarding: bool
    """Feedback by email to the sender (the default): nobody reads it in practice."""


@dataclass(frozen=True)
class SesStanding:
    account: dict[str, Any] | GatherError
    """sesv2 GetAccount: EnforcementStatus, SendingEnabled, ProductionAccessEnabled, Details …"""
    bounce_rate: float | GatherError | None
    """Latest ``Reputation.BounceRate`` (0..1), None when CloudWatch has no data point."""
    complaint_rate: float | GatherError | None
    send_statistics: dict[str, int] | GatherError
    """Sums over the last two weeks: DeliveryAttempts, Bounces, Complaints, Rejects."""
    identities: tuple[SesIdentity, ...] | GatherError
    event_destinations: dict[str, tuple[str, ...]] | GatherError
    """Configuration set → event types sent to an enabled destination."""


def gather_ses(scope: Scope, region: str | None) -> SesStanding:
    ses = scope.client("ses", region)
    sesv2 = scope.client("sesv2", region)
    return SesStanding(
        account=item_or_error("sesv2", "GetAccount", region, lambda: _account(sesv2, region)),
        bounce_rate=item_or_error(
            "cloudwatch", "GetMetricData", region, lambda: _rate(scope, region, "Reputation.BounceRate")
        ),
        complaint_rate=item_or_error(
            "cloudwatch", "GetMetricData", region, lambda: _rate(scope, region, "Reputation.ComplaintRate")
        ),
        send_statistics=item_or_error("ses", "GetSendStatistics", region, lambda: _statistics(ses, region)),
        identities=item_or_error("ses", "ListIdentities", region, lambda: _identities(ses, region)),
        event_destinations=item_or_error(
            "sesv2",
            "GetConfigurationSetEventDestinations",
            region,
            lambda: _destinations(sesv2, region),
        ),
    )


def _account(sesv2: Any, region: str | None) -> dict[str, Any]:
    raw = call(sesv2, "get_account", region)
    keys = (
        "EnforcementStatus",
        "SendingEnabled",
        "ProductionAccessEnabled",
        "Details",
        "SuppressionAttributes",
        "SendQuota",
    )
    return {key: raw[key] for key in keys if key in raw}


def _rate(scope: Scope, region: str | None, metric: str) -> float | None:
    cloudwatch = scope.client("cloudwatch", region)
    response = call(
        cloudwatch,
        "get_metric_data",
        region,
        MetricDataQueries=[
            {
                "Id": "rate",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SES", "MetricName": metric},
                    "Period": 3600,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=scope.now - timedelta(days=2),
        EndTime=scope.now,
        ScanBy="TimestampDescending",
    )
    for result in response.get("MetricDataResults", []):
        values = result.get("Values", [])
        if values:
            return float(values[0])
    return None


def _statistics(ses: Any, region: str | None) -> dict[str, int]:
    totals = {"DeliveryAttempts": 0, "Bounces": 0, "Complaints": 0, "Rejects": 0}
    for point in call(ses, "get_send_statistics", region).get("SendDataPoints", []):
        for key in totals:
            totals[key] += int(point.get(key, 0))
    return totals


def _identities(ses: Any, region: str | None) -> tuple[SesIdentity, ...]:
    names = pages(ses, "list_identities", "Identities", region)
    attributes: dict[str, Any] = {}
    for start in range(0, len(names), 100):  # the API takes at most 100 identities per call
        attributes.update(
            call(ses, "get_identity_notification_attributes", region, Identities=names[start : start + 100])[
                "NotificationAttributes"
            ]
        )
    return tuple(
        SesIdentity(
            name=name,
            bounce_topic=attributes.get(name, {}).get("BounceTopic"),
            complaint_topic=attributes.get(name, {}).get("ComplaintTopic"),
            forwarding=bool(attributes.get(name, {}).get("ForwardingEnabled", True)),
        )
        for name in names
    )


def _destinations(sesv2: Any, region: str | None) -> dict[str, tuple[str, ...]]:
    sets: list[str] = []
    token: dict[str, str] = {}
    while True:  # sesv2 ListConfigurationSets has no botocore paginator
        page = call(sesv2, "list_configuration_sets", region, **token)
        sets += page.get("ConfigurationSets", [])
        if not page.get("NextToken"):
            break
        token = {"NextToken": page["NextToken"]}
    result: dict[str, tuple[str, ...]] = {}
    for name in sets:
        destinations = call(
            sesv2, "get_configuration_set_event_destinations", region, ConfigurationSetName=name
        ).get("EventDestinations", [])
        result[name] = tuple(
            sorted(
                {
                    event
                    for destination in destinations
                    if destination.get("Enabled")
                    for event in destination.get("MatchingEventTypes", [])
                }
            )
        )
    return result
