"""A diagnosis run: choose checks, find the regions, gather concurrently, judge.

Effects live here and in ``gather``; ``judge`` stays pure. Sources are read once per region
(or once, for global ones) in a bounded thread pool, whatever number of checks need them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from noticedesk.aws.caller import quarantined_caller
from noticedesk.aws.checks import Check, Context, Gathered
from noticedesk.aws.checks.catalogue import CATALOGUE
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.findings import Finding
from noticedesk.aws.gather import (
    AWS_FAILURES,
    Fanout,
    GatherError,
    GatherFailed,
    Scope,
    attempt,
    call,
    classify,
)
from noticedesk.aws.gather.catalogue import SOURCES
from noticedesk.config import DiagnoseConfig
from noticedesk.errors import AwsError
from noticedesk.notices.model import Facts

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]
"""Called after each source is read: (what was read, how many reads in all)."""


@dataclass(frozen=True)
class Diagnosis:
    run_id: str
    account_id: str
    regions: tuple[str, ...]
    checks: tuple[str, ...]
    findings: tuple[Finding, ...]
    calls: int
    seconds: float

    @property
    def counts(self) -> dict[str, int]:
        counts = {"fail": 0, "warn": 0, "error": 0, "pass": 0}
        for finding in self.findings:
            counts[finding.status] += 1
        return counts


def checks_for(kind: str | None, facts: Facts, ids: list[str] | None = None) -> tuple[Check, ...]:
    """Checks named on the command line, else those for the case's kind whose subject the facts name."""
    from noticedesk.aws.checks.catalogue import select

    if ids:
        return select(ids)
    return tuple(check for check in CATALOGUE if check.applies(kind, facts))


def caller_account(factory: ClientFactory) -> str:
    try:
        return str(factory.client("sts").get_caller_identity()["Account"])
    except AWS_FAILURES as error:
        raise AwsError(classify("sts", "GetCallerIdentity", None, error).describe()) from error


ENABLED = ("opt-in-not-required", "opted-in")
"""``OptInStatus`` of a region the account can use (not "not-opted-in")."""


def enabled_regions(factory: ClientFactory, account_id: str) -> tuple[str, ...]:
    """Regions enabled for the account, in the partition of its credentials (the commercial one
    for ordinary accounts): never ``cn-*`` or ``us-gov-*`` unless asked for with ``--regions``."""
    try:
        raw = call(factory.client("ec2", None, account_id), "describe_regions", None, AllRegions=True)[
            "Regions"
        ]
    except GatherFailed as error:
        raise AwsError(error.error.describe()) from error
    session = factory.session()
    partition = session.get_partition_for_region(factory.default_region)
    return tuple(
        sorted(
            item["RegionName"]
            for item in raw
            if item.get("OptInStatus", "opted-in") in ENABLED
            and session.get_partition_for_region(item["RegionName"]) == partition
        )
    )


def gather(
    scope: Scope,
    checks: tuple[Check, ...],
    regions: tuple[str, ...],
    concurrency: int,
    progress: Progress | None = None,
) -> Gathered:
    """Read every source the checks need, once per region, at most ``concurrency`` at a time."""
    needed = sorted({source for check in checks for source in check.sources})
    units: list[tuple[str, str | None]] = []
    for name in needed:
        units += [(name, region) for region in regions] if SOURCES[name].regional else [(name, None)]

    def read(unit: tuple[str, str | None]) -> tuple[tuple[str, str | None], Any]:
        name, region = unit
        source = SOURCES[name]
        value = attempt(source.service, region, lambda: source.read(scope, region))
        if isinstance(value, GatherError):
            log.warning("could not read %s in %s: %s", name, region or "global", value.describe())
        if progress is not None:
            progress(f"{name} {region or 'global'}", len(units))
        return unit, value

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="gather") as pool:
        results = dict(pool.map(read, units))
    return Gathered(scope.account_id, regions, results)


def judge(checks: tuple[Check, ...], gathered: Gathered, context: Context) -> tuple[Finding, ...]:
    return tuple(finding for check in checks for finding in check.judge(gathered, context))


def run_diagnosis(
    factory: ClientFactory,
    checks: tuple[Check, ...],
    now: datetime,
    *,
    account_id: str | None = None,
    regions: tuple[str, ...] | None = None,
    facts: Facts | None = None,
    settings: DiagnoseConfig | None = None,
    concurrency: int | None = None,
    progress: Progress | None = None,
) -> Diagnosis:
    settings = settings or DiagnoseConfig()
    facts = facts or Facts()
    workers = concurrency or settings.concurrency
    started = time.perf_counter()
    account = account_id or caller_account(factory)
    # The calls made in this account: others may be read at the same time through the same factory.
    calls_before = factory.calls_by_account.get(account, 0)
    refusal = quarantined_caller(factory, account)
    if refusal is not None:
        raise AwsError(f"not diagnosing {account}: {refusal}")
    region_list = regions or enabled_regions(factory, account)
    fanout = Fanout(workers)
    try:
        scope = Scope(factory, account, facts, now, fanout, settings.lookback_days)
        gathered = gather(scope, checks, region_list, workers, progress)
    finally:
        fanout.close()
    found = judge(checks, gathered, Context(now=now, facts=facts, settings=settings))
    return Diagnosis(
        run_id=uuid.uuid4().hex,
        account_id=account,
        regions=region_list,
        checks=tuple(check.id for check in checks),
        findings=found,
        calls=factory.calls_by_account.get(account, 0) - calls_before,
        seconds=time.perf_counter() - started,
    )
