"""Checks: pure judges over gathered data. Each declares what it reads and which IAM actions that needs.

A check is a value (id, title, severity, risk, remediation, permissions, kinds, sources) plus a
pure ``judge(gathered, context) -> list[Finding]``. Data that could not be read becomes an
``error`` finding carrying the reason; a check never reports ``pass`` over a ``GatherError``.
The catalogue (every check, in order) is ``noticedesk.aws.checks.catalogue.CATALOGUE``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from noticedesk.aws.findings import Finding, Severity
from noticedesk.aws.gather import GatherError
from noticedesk.config import DiagnoseConfig
from noticedesk.notices.model import Facts


@dataclass(frozen=True)
class Gathered:
    """Everything one run read: ``(source, region)`` → dataclass or ``GatherError``."""

    account_id: str
    regions: tuple[str, ...]
    results: Mapping[tuple[str, str | None], Any]

    def get(self, source: str, region: str | None = None) -> Any:
        missing = GatherError("noticedesk", source, region, "not-gathered", "this source was not read")
        return self.results.get((source, region), missing)

    def per_region(self, source: str) -> Iterator[tuple[str, Any]]:
        for region in self.regions:
            yield region, self.get(source, region)


@dataclass(frozen=True)
class Context:
    """What a judge may know besides the data: the case's facts, the settings, the clock."""

    now: datetime
    facts: Facts = field(default_factory=Facts)
    settings: DiagnoseConfig = field(default_factory=DiagnoseConfig)

    def recent(self, created: datetime | None) -> bool:
        if created is None or self.settings.recent_days == 0:
            return False
        return created >= self.now - timedelta(days=self.settings.recent_days)


Judge = Callable[["Check", Gathered, Context], list[Finding]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity
    risk: str
    remediation: str
    permissions: tuple[str, ...]
    """IAM actions (``service:Action``) the gathering for this check needs."""
    sources: tuple[str, ...]
    judge_with: Judge = field(repr=False)
    kinds: frozenset[str] | None = None
    """Case kinds this check runs for; None means every kind."""
    needs_facts: str | None = None
    """A ``Facts`` field that must be non-empty for this check to have a subject (e.g. ip_addresses)."""

    def judge(self, gathered: Gathered, context: Context) -> list[Finding]:
        return self.judge_with(self, gathered, context)

    def applies(self, kind: str | None, facts: Facts) -> bool:
        if kind is not None and self.kinds is not None and kind not in self.kinds:
            return False
        return self.needs_facts is None or bool(getattr(facts, self.needs_facts))

    def finding(
        self,
        gathered: Gathered,
        status: str,
        region: str | None,
        resource_type: str,
        resource_id: str | None,
        detail: str,
        severity: Severity | None = None,
        /,
        **data: Any,
    ) -> Finding:
        level: Severity = "info" if status == "pass" else (severity or self.severity)
        return Finding(
            check=self.id,
            status="fail"
            if status == "fail"
            else "pass"
            if status == "pass"
            else "warn"
            if status == "warn"
            else "error",
            severity=level,
            account_id=gathered.account_id,
            region=region,
            resource_id=resource_id,
            detail=detail,
            data={"resource_type": resource_type, **data},
        )

    def fail(
        self,
        gathered: Gathered,
        region: str | None,
        resource_type: str,
        resource_id: str | None,
        detail: str,
        severity: Severity | None = None,
        /,
        **data: Any,
    ) -> Finding:
        return self.finding(gathered, "fail", region, resource_type, resource_id, detail, severity, **data)

    def passed(
        self,
        gathered: Gathered,
        region: str | None,
        resource_type: str,
        resource_id: str | None,
        detail: str,
        /,
        **data: Any,
    ) -> Finding:
        return self.finding(gathered, "pass", region, resource_type, resource_id, detail, None, **data)

    def warned(
        self,
        gathered: Gathered,
        region: str | None,
        resource_type: str,
        resource_id: str | None,
        detail: str,
        severity: Severity | None = None,
        /,
        **data: Any,
    ) -> Finding:
        """Not a problem found, not a clean bill either: a person should look (no fix proposed)."""
        return self.finding(gathered, "warn", region, resource_type, resource_id, detail, severity, **data)

    def error(
        self,
        gathered: Gathered,
        region: str | None,
        resource_type: str,
        resource_id: str | None,
        error: GatherError,
    ) -> Finding:
        return self.finding(
            gathered,
            "error",
            region,
            resource_type,
            resource_id,
            f"{self.title}: not judged, {error.describe()}",
            None,
            error_kind=error.kind,
            error=error.message,
            api=f"{error.service}:{error.operation}",
            error_region=error.region,
        )


def age_days(created: datetime | None, now: datetime) -> int | None:
    return None if created is None else max(0, (now - created).days)
