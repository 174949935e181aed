"""The scheduled posture scan: each registered account read with the diagnosis checks, before AWS
finds what it would write about; a severe finding opens an ``early-warning`` case (or notes the
open one of its kind).

An account is due when nothing has read it (this scan, or ``noticedesk diagnose``) for
``every_hours``; the findings are stored as any diagnosis (``remediation/fleet.py``, which also
queues each severe finding's ``finding.severe`` notification, once per check and resource). The
failed checks at or above ``min_severity`` are grouped per account and case kind, and each group
is filed as NoticeDesk's own warning (``cases/batch.py`` ``file_warnings``): unverified, at stage
``early-warning``, with the runbook checklist of its kind. A case it opens is told (``case.opened``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from noticedesk.accounts.registry import Account, list_accounts
from noticedesk.aws.checks import Check
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import checks_for
from noticedesk.aws.findings import Finding
from noticedesk.cases.batch import EarlyWarning, file_warnings
from noticedesk.clock import Clock
from noticedesk.config import Config, DiagnoseConfig, PostureConfig
from noticedesk.notices.model import Authenticity, Facts, Kind, Notice, Stage
from noticedesk.notify.emitters import case_opened
from noticedesk.notify.outbox import enqueue_many
from noticedesk.remediation.fleet import diagnose_accounts
from noticedesk.store.db import begin_writing
from noticedesk.store.tables import cases, findings

log = logging.getLogger("noticedesk.watch")
_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
_KIND_ORDER = (Kind.ACCOUNT_COMPROMISED, Kind.SES_REVIEW, Kind.ABUSE_REPORT)
"""A check that serves several kinds warns as the first of them here: a public snapshot or a root
key is what a compromised-account notice is about; an SES check, what an SES review is about."""


def warning_kind(check: Check) -> Kind:
    kinds = check.kinds or frozenset(kind.value for kind in _KIND_ORDER)
    return next((kind for kind in _KIND_ORDER if kind.value in kinds), Kind.ACCOUNT_COMPROMISED)


def severe_groups(
    found: Sequence[Finding], checks: dict[str, Check], min_severity: str
) -> dict[Kind, list[Finding]]:
    """The failed findings at or above ``min_severity``, by the kind of case they warn of. Pure."""
    floor = _RANK[min_severity]
    groups: dict[Kind, list[Finding]] = {}
    for finding in found:
        check = checks.get(finding.check)
        if check is None or finding.status != "fail" or _RANK.get(finding.severity, 0) < floor:
            continue
        groups.setdefault(warning_kind(check), []).append(finding)
    return groups


def warning_of(account: Account, kind: Kind, failed: Sequence[Finding]) -> EarlyWarning:
    names = sorted({finding.check for finding in failed})
    regions = tuple(
        sorted({finding.region for finding in failed if finding.region and finding.region != "global"})
    )
    notice = Notice(
        kind,
        Stage.EARLY_WARNING,
        Facts(account_id=account.account_id, regions=regions),
        rule_id=None,
        authenticity=Authenticity.UNVERIFIED,
        title=f"NoticeDesk early warning: {', '.join(names)} in {account.name} ({account.account_id})",
    )
    summary = f"posture scan: {len(failed)} finding(s) of {', '.join(names)}"
    detail = {"findings": [finding.to_json() for finding in failed[:50]], "checks": names}
    return EarlyWarning(notice, summary, detail)


@dataclass
class PostureScan:
    engine: Engine
    settings: PostureConfig
    diagnose: DiagnoseConfig
    clients: Callable[[], ClientFactory]
    """The client factory (the composition root's: registered roles, ``[diagnose] role_name``)."""
    checks: tuple[Check, ...]
    clock: Clock

    def due_accounts(self, now: datetime) -> list[Account]:
        since = now - timedelta(hours=self.settings.every_hours)
        with self.engine.connect() as connection:
            accounts = list_accounts(connection)
            read = dict(
                connection.execute(
                    select(findings.c.account_id, func.max(findings.c.found_at)).group_by(
                        findings.c.account_id
                    )
                ).all()
            )
        return [account for account in accounts if (read.get(account.account_id) or since) <= since]

    def run(self, now: datetime) -> list[int]:
        """Scan the accounts that are due; the early-warning cases opened or noted."""
        due = self.due_accounts(now)
        if not due:
            return []
        by_id = {check.id: check for check in self.checks}
        warnings: list[EarlyWarning] = []
        factory = self.clients()
        for outcome in diagnose_accounts(
            factory, due, self.checks, self.engine, self.clock, settings=self.diagnose, concurrency=2
        ):
            if outcome.diagnosis is None:
                log.warning(
                    "posture scan failed",
                    extra={
                        "event": "posture.error",
                        "account_id": outcome.account.account_id,
                        "reason": outcome.error,
                    },
                )
                continue
            groups = severe_groups(outcome.diagnosis.findings, by_id, self.settings.min_severity)
            warnings += [warning_of(outcome.account, kind, failed) for kind, failed in groups.items()]
            log.info(
                "posture scanned",
                extra={
                    "event": "posture.scanned",
                    "account_id": outcome.account.account_id,
                    "findings": len(outcome.diagnosis.findings),
                    "warnings": {kind.value: len(failed) for kind, failed in groups.items()},
                },
            )
        if not warnings:
            return []
        with self.engine.begin() as connection:
            begin_writing(connection)
            case_ids = file_warnings(connection, warnings, now)
            opened = connection.execute(
                select(cases).where(cases.c.id.in_(case_ids), cases.c.opened_at == now)
            ).all()
            enqueue_many(
                connection,
                [
                    case_opened(
                        row.id,
                        row.account_id,
                        kind=row.kind,
                        title=row.title,
                        stage=row.stage,
                        reply_by=row.reply_by,
                        enforcement_at=row.enforcement_at,
                    )
                    for row in opened
                ],
                now=now,
            )
        for case_id in dict.fromkeys(case_ids):
            log.info("early warning filed", extra={"event": "posture.warning", "case_id": case_id})
        return list(dict.fromkeys(case_ids))


def build_posture_scan(
    engine: Engine, config: Config, clients: Callable[[], ClientFactory], clock: Clock
) -> PostureScan | None:
    """The scan ``[watch.posture]`` asks for (None when it is absent): for the watcher and the workers."""
    settings = config.watch.posture
    if settings is None:
        return None
    checks = checks_for(None, Facts(), settings.checks or None)
    return PostureScan(engine, settings, config.diagnose, clients, checks, clock)
