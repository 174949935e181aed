"""``case verify``: ask AWS about a case's notice, and put the answer on the case (fact + note)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update

from noticedesk.aws.crosscheck import Clients, CrossCheck, cross_check, summarise
from noticedesk.cases.timeline import record
from noticedesk.errors import NotFoundError
from noticedesk.notices.model import Facts
from noticedesk.store.tables import cases


def verify_case(
    engine: Engine, case_id: int, clients: Clients, now: datetime, actor: str
) -> tuple[CrossCheck, ...]:
    """Gather (AWS calls, outside any transaction), then record the result in one transaction."""
    with engine.connect() as connection:
        row = connection.execute(
            select(
                cases.c.account_id, cases.c.kind, cases.c.case_ref, cases.c.opened_at, cases.c.last_notice_at
            ).where(cases.c.id == case_id)
        ).first()
    if row is None:
        raise NotFoundError(f"no case {case_id}")
    since = row.last_notice_at or row.opened_at
    checks = cross_check(clients, row.account_id, row.kind, row.case_ref, since)
    summary = summarise(checks)
    with engine.begin() as connection:
        stored = connection.execute(select(cases.c.facts).where(cases.c.id == case_id)).scalar_one()
        facts = Facts.from_json(stored).merged_with(Facts(aws_cross_check=summary))
        connection.execute(
            update(cases).where(cases.c.id == case_id).values(facts=facts.to_json(), updated_at=now)
        )
        record(
            connection,
            case_id,
            now,
            "note",
            f"AWS cross-check: {summary}",
            {"cross_check": [check.to_json() for check in checks]},
            actor=actor,
        )
    return checks
