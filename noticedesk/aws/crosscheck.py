"""Ask AWS whether the notice is real: the Health event or the support case it names exists.

Both APIs need a Business (or Enterprise On-Ramp / Enterprise) support plan; without one, or
without permission or credentials, the answer is "not checked" with the reason, never "confirmed".
Gather here (boto3 through the injected client factory), judge in ``summarise`` (pure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from noticedesk.notices.rules import RuleTable, rule_table

CheckStatus = Literal["confirmed", "not-found", "not-checked"]
GLOBAL_REGION = "us-east-1"  # the Health and Support APIs answer there
LOOKBACK = timedelta(days=30)
_SUPPORT_CASE = re.compile(r"^\d{6,}$")
_PLAN_REQUIRED = "SubscriptionRequiredException"
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException"}


class Clients(Protocol):
    def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any: ...


@dataclass(frozen=True)
class CrossCheck:
    source: Literal["health", "support"]
    status: CheckStatus
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "status": self.status, "detail": self.detail, "data": self.data}


def _not_checked(source: Literal["health", "support"], error: Exception) -> CrossCheck:
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code == _PLAN_REQUIRED:
            why = (
                "needs a Business, Enterprise On-Ramp or Enterprise support plan "
                "(SubscriptionRequiredException)"
            )
        elif code in _DENIED:
            action = "health:DescribeEvents" if source == "health" else "support:DescribeCases"
            why = f"access denied ({code}): the credentials need {action}"
        else:
            why = f"AWS refused the call ({code or 'unknown error'})"
    else:
        why = f"AWS not reachable with these credentials ({error.__class__.__name__})"
    return CrossCheck(source, "not-checked", why, {"error": error.__class__.__name__})


def check_support_case(clients: Clients, account_id: str | None, case_ref: str | None) -> CrossCheck:
    if not case_ref:
        return CrossCheck("support", "not-checked", "the notice names no support case")
    if not _SUPPORT_CASE.match(case_ref):
        return CrossCheck(
            "support", "not-checked", f"{case_ref} is an abuse case reference, not a support case number"
        )
    try:
        support = clients.client("support", GLOBAL_REGION, account_id)
        found = support.describe_cases(displayId=case_ref, includeResolvedCases=True, language="en")
    except (ClientError, BotoCoreError) as error:
        return _not_checked("support", error)
    for case in found.get("cases", []):
        return CrossCheck(
            "support",
            "confirmed",
            f"support case {case_ref} exists: {case.get('subject', '')} ({case.get('status', '?')})",
            {"case_id": case.get("caseId"), "status": case.get("status"), "subject": case.get("subject")},
        )
    return CrossCheck("support", "not-found", f"no support case {case_ref} in this account")


def health_prefixes(kind: str, table: RuleTable | None = None) -> tuple[str, ...]:
    table = table or rule_table()
    return tuple(rule.prefix for rule in table.health if rule.kind.value == kind)


def check_health_event(clients: Clients, account_id: str | None, kind: str, since: datetime) -> CrossCheck:
    prefixes = health_prefixes(kind)
    if not prefixes:
        return CrossCheck("health", "not-checked", f"AWS Health has no event type for {kind} notices")
    try:
        health = clients.client("health", GLOBAL_REGION, account_id)
        pages = health.get_paginator("describe_events").paginate(
            filter={"startTimes": [{"from": since - LOOKBACK}]}
        )
        events = [event for page in pages for event in page.get("events", [])]
    except (ClientError, BotoCoreError) as error:
        return _not_checked("health", error)
    matching = [event for event in events if str(event.get("eventTypeCode", "")).startswith(prefixes)]
    if not matching:
        types = ", ".join(prefix + "*" for prefix in prefixes)
        return CrossCheck(
            "health", "not-found", f"no AWS Health event of type {types} since {since - LOOKBACK:%Y-%m-%d}"
        )
    event = matching[0]
    return CrossCheck(
        "health",
        "confirmed",
        f"AWS Health event {event['eventTypeCode']} exists ({event.get('statusCode', '?')})",
        {"arn": event.get("arn"), "event_type": event["eventTypeCode"], "status": event.get("statusCode")},
    )


def cross_check(
    clients: Clients, account_id: str | None, kind: str, case_ref: str | None, since: datetime
) -> tuple[CrossCheck, ...]:
    return (
        check_health_event(clients, account_id, kind, since),
        check_support_case(clients, account_id, case_ref),
    )


def summarise(checks: tuple[CrossCheck, ...]) -> str:
    """One line for the case's facts: what AWS confirmed, what it did not, what was not checked."""
    return "; ".join(f"{check.source}: {check.status} — {check.detail}" for check in checks)
