"""Test helpers for the fixes: a case with a checklist, findings rows as the diagnosis would write them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert

from noticedesk.config import FixesConfig
from noticedesk.remediation.runner import ApplyRequest, Remediation, RunReport
from noticedesk.store.tables import cases, checklist_items, findings

ACCOUNT = "123456789012"
"""moto's default account: the one the testing credentials belong to (no role is assumed here)."""


def make_case(
    engine: Engine,
    now: datetime,
    authenticity: str = "verified",
    kind: str = "account-compromised",
    checklist: Iterable[str] = (
        "deactivate-key",
        "delete-exposed-key",
        "make-images-private",
        "stop-activity",
    ),
) -> int:
    with engine.begin() as connection:
        case_id = int(
            connection.execute(
                insert(cases)
                .values(
                    case_key=f"test-{uuid.uuid4().hex}",
                    account_id=ACCOUNT,
                    kind=kind,
                    stage="notice",
                    status="new",
                    title="test case",
                    authenticity=authenticity,
                    facts={},
                    opened_at=now,
                    updated_at=now,
                )
                .returning(cases.c.id)
            ).scalar_one()
        )
        for position, key in enumerate(checklist):
            connection.execute(
                insert(checklist_items).values(
                    case_id=case_id, item_key=key, position=position, text_en=key, text_ja=key
                )
            )
    return case_id


CHECK_FOR = {
    "access-key": "key-owner",
    "iam-user": "persistence",
    "ami": "public-amis",
    "ebs-snapshot": "public-ebs-snapshots",
    "rds-snapshot": "public-rds-snapshots",
    "rds-cluster-snapshot": "public-rds-snapshots",
    "instance": "abuse-target",
    "region": "block-public-access",
    "ses-account": "ses-suppression",
}
"""The diagnosis check whose failing finding about such a resource a test stands for (``check=``)."""


def finding(
    resource_type: str, resource_id: str, region: str | None = "us-east-1", **data: Any
) -> dict[str, Any]:
    return {
        "check": data.pop("check", CHECK_FOR[resource_type]),
        "status": data.pop("status", "fail"),
        "severity": "high",
        "account_id": ACCOUNT,
        "region": region,
        "resource_id": resource_id,
        "detail": f"{resource_type} {resource_id} needs fixing",
        "data": {"resource_type": resource_type, **data},
    }


def add_findings(engine: Engine, case_id: int, now: datetime, rows: Iterable[dict[str, Any]]) -> str:
    """One diagnosis run for the case; returns its run id."""
    run_id = uuid.uuid4().hex
    with engine.begin() as connection:
        for row in rows:
            connection.execute(insert(findings).values(run_id=run_id, case_id=case_id, found_at=now, **row))
    return run_id


def remediation(
    engine: Engine, clients: Any, now: datetime, max_resources: int = 20, **kwargs: Any
) -> Remediation:
    return Remediation(
        engine, clients, FixesConfig(max_resources_per_run=max_resources), lambda: now, **kwargs
    )


def apply_all(runner: Remediation, case_id: int, **request: Any) -> RunReport:
    return runner.apply(case_id, ApplyRequest(confirmed=True, requested_by="tester", **request))


def public_rds_snapshot(rds: Any) -> None:
    """A moto RDS instance "shop" and its snapshot "shop-snap", restorable by every account."""
    rds.create_db_instance(
        DBInstanceIdentifier="shop", DBInstanceClass="db.t3.micro", Engine="postgres",
        MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
    )  # fmt: skip
    rds.create_db_snapshot(DBInstanceIdentifier="shop", DBSnapshotIdentifier="shop-snap")
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="shop-snap", AttributeName="restore", ValuesToAdd=["all"]
    )
