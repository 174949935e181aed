"""Bounce and complaint rates: our own, from the feedback we stored, and SES's, from CloudWatch.

Our figures count per recipient over a window of hourly buckets, per account, region, identity
and configuration set. The denominator is the number of sends (Send events, where a
configuration set publishes them) or, when larger, deliveries + bounces (the mail SES tried to
deliver, known from identity notifications too). Like SES, only hard (permanent)
bounces count toward the bounce rate. SES itself uses a "representative volume" with no fixed
window, so its ``Reputation.*`` metrics are the authoritative numbers: both are shown side by side
(docs/aws-facts.md, 4).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from sqlalchemy import Connection, select

from noticedesk.store.tables import ses_send_counts

SCOPES = ("account", "region", "identity", "configuration-set")
NO_CREDENTIALS = "no AWS credentials"
"""The error of a region's reputation when boto3 found no credentials at all (not a failed call)."""
_COLUMNS = ("sends", "deliveries", "hard_bounces", "soft_bounces", "complaints", "rejects")


@dataclass(frozen=True)
class Rate:
    scope: str
    key: str
    account_id: str
    sends: int
    deliveries: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    denominator: int
    denominator_source: str  # "sends" | "deliveries+bounces"

    @property
    def bounce_rate(self) -> float | None:
        return self.hard_bounces / self.denominator if self.denominator else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.denominator if self.denominator else None

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "key": self.key,
            "account_id": self.account_id,
            "sends": self.sends,
            "deliveries": self.deliveries,
            "hard_bounces": self.hard_bounces,
            "soft_bounces": self.soft_bounces,
            "complaints": self.complaints,
            "denominator": self.denominator,
            "denominator_source": self.denominator_source,
            "bounce_rate": self.bounce_rate,
            "complaint_rate": self.complaint_rate,
        }


def local_rates(connection: Connection, now: datetime, window: timedelta) -> list[Rate]:
    rows = connection.execute(
        select(ses_send_counts).where(
            ses_send_counts.c.bucket_start >= now - window, ses_send_counts.c.bucket_start <= now
        )
    )
    totals: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * len(_COLUMNS))
    for row in rows:
        account = row.account_id or "-"
        keys = [
            ("account", account),
            ("region", f"{account}/{row.region or '-'}"),
            ("identity", f"{account}/{row.region or '-'}/{row.identity or '-'}"),
        ]
        if row.configuration_set:
            keys.append(("configuration-set", f"{account}/{row.region or '-'}/{row.configuration_set}"))
        for scope, key in keys:
            total = totals[(scope, key, row.account_id)]
            for index, column in enumerate(_COLUMNS):
                total[index] += row._mapping[column]
    rates = []
    for (scope, key, account_id), values in totals.items():
        sends, deliveries, hard, soft, complaints, _rejects = values
        attempted = deliveries + hard + soft
        denominator, source = (sends, "sends") if sends >= attempted else (attempted, "deliveries+bounces")
        rates.append(
            Rate(scope, key, account_id, sends, deliveries, hard, soft, complaints, denominator, source)
        )
    return sorted(rates, key=lambda rate: (SCOPES.index(rate.scope), rate.key))


@dataclass(frozen=True)
class ReputationRate:
    """SES's own figures for one region (CloudWatch ``AWS/SES`` ``Reputation.*``), or why not."""

    region: str
    bounce_rate: float | None
    complaint_rate: float | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": "cloudwatch",
            "region": self.region,
            "bounce_rate": self.bounce_rate,
            "complaint_rate": self.complaint_rate,
            "error": self.error,
        }


def cloudwatch_rates(clients: Any, regions: list[str], now: datetime) -> list[ReputationRate]:
    """The latest hourly maximum of each reputation metric per region; an unreadable region says so."""
    results = []
    for region in regions:
        queries = [
            {
                "Id": name,
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SES", "MetricName": metric},
                    "Period": 3600,
                    "Stat": "Maximum",
                },
            }
            for name, metric in (
                ("bounce", "Reputation.BounceRate"),
                ("complaint", "Reputation.ComplaintRate"),
            )
        ]
        try:
            response = clients.client("cloudwatch", region).get_metric_data(
                MetricDataQueries=queries,
                StartTime=now - timedelta(days=1),
                EndTime=now,
                ScanBy="TimestampDescending",
            )
        except NoCredentialsError:
            results.append(ReputationRate(region, None, None, NO_CREDENTIALS))
            continue
        except (ClientError, BotoCoreError) as error:
            results.append(ReputationRate(region, None, None, f"{type(error).__name__}: {error}"))
            continue
        latest: dict[str, float | None] = {"bounce": None, "complaint": None}
        for series in response.get("MetricDataResults", []):
            values = series.get("Values") or []
            latest[series["Id"]] = float(values[0]) if values else None
        results.append(ReputationRate(region, latest["bounce"], latest["complaint"]))
    return results
