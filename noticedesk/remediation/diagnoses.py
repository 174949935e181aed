"""A diagnosis stored: its findings, on the case's timeline when it has one, and the latest read back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select

from noticedesk.aws.actions import mask_secrets
from noticedesk.aws.diagnose import Diagnosis
from noticedesk.aws.findings import Finding
from noticedesk.cases.timeline import record
from noticedesk.notify.emitters import finding_severe
from noticedesk.notify.outbox import enqueue_many
from noticedesk.store.tables import case_events
from noticedesk.store.tables import findings as findings_table


def store_diagnosis(engine: Engine, diagnosis: Diagnosis, case_id: int | None, at: datetime) -> None:
    """Findings rows for the run; on a case, one ``diagnosis`` event on its timeline with the counts."""
    with engine.begin() as connection:
        if diagnosis.findings:
            connection.execute(
                insert(findings_table),
                [
                    {
                        "run_id": diagnosis.run_id,
                        "case_id": case_id,
                        "check": finding.check,
                        "status": finding.status,
                        "severity": finding.severity,
                        "account_id": finding.account_id,
                        "region": finding.region,
                        "resource_id": finding.resource_id,
                        "detail": finding.detail,
                        "data": finding.data,
                        "found_at": at,
                    }
                    for finding in diagnosis.findings
                ],
            )
        severe = [
            finding_severe(
                case_id,
                finding.account_id or diagnosis.account_id,
                check=finding.check,
                severity=finding.severity,
                resource=str(mask_secrets(finding.resource_id or "")),
                detail=str(mask_secrets(finding.detail)),
            )
            for finding in diagnosis.findings
            if finding.status == "fail"
        ]
        enqueue_many(connection, [event for event in severe if event is not None], now=at)
        if case_id is not None:
            counts = diagnosis.counts
            record(
                connection,
                case_id,
                at,
                "diagnosis",
                f"Diagnosis of {diagnosis.account_id}: {counts['fail']} problem(s), "
                + (f"{counts['warn']} to look at, " if counts["warn"] else "")
                + f"{counts['error']} not readable, {counts['pass']} fine",
                {
                    "run_id": diagnosis.run_id,
                    "counts": counts,
                    "checks": list(diagnosis.checks),
                    "regions": list(diagnosis.regions),
                },
            )


def latest_diagnosis(connection: Connection, case_id: int) -> tuple[datetime | None, list[Finding]]:
    """When the case was last diagnosed and what that run found (None: never diagnosed)."""
    latest = connection.execute(
        select(findings_table.c.found_at, findings_table.c.run_id)
        .where(findings_table.c.case_id == case_id)
        .order_by(findings_table.c.found_at.desc(), findings_table.c.id.desc())
        .limit(1)
    ).first()
    diagnosed_at = connection.execute(
        select(case_events.c.at)
        .where(case_events.c.case_id == case_id, case_events.c.type == "diagnosis")
        .order_by(case_events.c.at.desc())
        .limit(1)
    ).scalar()
    if latest is None or (diagnosed_at is not None and diagnosed_at > latest.found_at):
        return diagnosed_at, []  # never diagnosed, or the latest diagnosis found nothing at all
    rows = connection.execute(
        select(findings_table)
        .where(findings_table.c.case_id == case_id, findings_table.c.run_id == latest.run_id)
        .order_by(findings_table.c.id)
    )
    found = [
        Finding(
            row.check,
            row.status,
            row.severity,
            row.account_id,
            row.region,
            row.resource_id,
            row.detail,
            row.data,
        )
        for row in rows
    ]
    return latest.found_at, found
