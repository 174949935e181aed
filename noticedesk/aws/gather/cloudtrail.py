"""CloudTrail per region: what the leaked key did, and who held the reported IP address when."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from noticedesk.aws.gather import AWS_FAILURES, GatherFailed, Scope, classify

HIGHLIGHTED = ("RunInstances", "CreateUser", "CreateAccessKey", "PutBucketPolicy")
MAX_PAGES = 100
"""LookupEvents pages (50 events each) read per key and region before the summary says 'truncated'."""


@dataclass(frozen=True)
class KeyActivity:
    access_key_id: str
    calls: int = 0
    errors: int = 0
    source_ips: dict[str, int] = field(default_factory=dict)
    event_names: dict[str, int] = field(default_factory=dict)
    highlights: tuple[dict[str, Any], ...] = ()
    first: datetime | None = None
    last: datetime | None = None
    truncated: bool = False


@dataclass(frozen=True)
class AddressEvent:
    name: str
    at: datetime
    instance_id: str | None
    public_ip: str | None
    allocation_id: str | None


@dataclass(frozen=True)
class Trail:
    keys: tuple[KeyActivity, ...]
    address_events: tuple[AddressEvent, ...]


def _lookup(
    scope: Scope, region: str | None, attribute: dict[str, str], start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    client = scope.client("cloudtrail", region)
    try:
        yield from client.get_paginator("lookup_events").paginate(
            LookupAttributes=[attribute], StartTime=start, EndTime=end
        )
    except AWS_FAILURES as error:
        raise GatherFailed(classify("cloudtrail", "LookupEvents", region, error)) from error


def gather_trail(scope: Scope, region: str | None) -> Trail:
    """Only what the case names: its access keys, and the history of its IP addresses."""
    end = scope.now
    start = end - timedelta(days=scope.lookback_days)
    keys = tuple(_key_activity(scope, region, key_id, start, end) for key_id in scope.facts.access_key_ids)
    events: list[AddressEvent] = []
    if scope.facts.ip_addresses:
        around = scope.facts.abuse_time or scope.now
        window_start = min(around - timedelta(days=scope.lookback_days), around)
        for name in ("AssociateAddress", "DisassociateAddress", "RunInstances"):
            for page in _lookup(
                scope, region, {"AttributeKey": "EventName", "AttributeValue": name}, window_start, end
            ):
                events += [_address_event(raw) for raw in page.get("Events", [])]
    return Trail(keys, tuple(events))


def _key_activity(
    scope: Scope, region: str | None, key_id: str, start: datetime, end: datetime
) -> KeyActivity:
    calls = errors = 0
    ips: Counter[str] = Counter()
    names: Counter[str] = Counter()
    highlights: list[dict[str, Any]] = []
    times: list[datetime] = []
    truncated = False
    for number, page in enumerate(
        _lookup(scope, region, {"AttributeKey": "AccessKeyId", "AttributeValue": key_id}, start, end)
    ):
        if number >= MAX_PAGES:
            truncated = True
            break
        for raw in page.get("Events", []):
            record = _record(raw)
            calls += 1
            name = raw.get("EventName") or record.get("eventName", "?")
            names[name] += 1
            ips[record.get("sourceIPAddress", "?")] += 1
            if record.get("errorCode"):
                errors += 1
            if raw.get("EventTime"):
                times.append(raw["EventTime"])
            if name in HIGHLIGHTED:
                highlights.append(
                    {
                        "event": name,
                        "at": raw.get("EventTime"),
                        "source_ip": record.get("sourceIPAddress"),
                        "error": record.get("errorCode"),
                    }
                )
    return KeyActivity(
        access_key_id=key_id,
        calls=calls,
        errors=errors,
        source_ips=dict(ips),
        event_names=dict(names),
        highlights=tuple(highlights),
        first=min(times, default=None),
        last=max(times, default=None),
        truncated=truncated,
    )


def _record(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded = json.loads(raw.get("CloudTrailEvent") or "{}")
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _address_event(raw: dict[str, Any]) -> AddressEvent:
    record = _record(raw)
    request = record.get("requestParameters") or {}
    response = record.get("responseElements") or {}
    instance_id = request.get("instanceId")
    if instance_id is None:
        items = (response.get("instancesSet") or {}).get("items") or []
        instance_id = items[0].get("instanceId") if items else None
    return AddressEvent(
        name=raw.get("EventName") or record.get("eventName", "?"),
        at=raw["EventTime"],
        instance_id=instance_id,
        public_ip=request.get("publicIp"),
        allocation_id=request.get("allocationId"),
    )
