"""Mirror the local suppression list to the SES account-level list, and import SES's list back.

Only suppressions for good go to SES (permanent bounces, complaints): SES's list has no expiry,
so a suppression earned by soft bounces, which lifts by itself, stays local. Pushing is
batched (``synced_at`` committed per batch, so a crash repeats at most one batch, and
``PutSuppressedDestination`` is itself idempotent), rate-limited, and skips addresses SES
already holds. A failed call is logged with its address and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Engine, select, update

from noticedesk.feedback.ingest import insert_for
from noticedesk.feedback.suppressions import Suppression
from noticedesk.store.tables import ses_suppressions

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    pushed: int = 0
    imported: int = 0
    failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"pushed": self.pushed, "imported": self.imported, "failed": self.failed}


@dataclass
class Throttle:
    """At most ``per_second`` calls a second (the SES API's own limits are low)."""

    per_second: float
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    _next: float = 0.0

    def wait(self) -> None:
        now = self.monotonic()
        if now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + 1.0 / self.per_second


def push_suppressions(
    engine: Engine,
    sesv2: Any,
    now: datetime,
    throttle: Throttle,
    batch_size: int = 100,
) -> SyncResult:
    result = SyncResult()
    with engine.connect() as connection:
        pending = connection.execute(
            select(ses_suppressions.c.address, ses_suppressions.c.reason)
            .where(
                ses_suppressions.c.suppressed.is_(True),
                ses_suppressions.c.expires_at.is_(None),
                ses_suppressions.c.at_ses.is_(False),
                ses_suppressions.c.synced_at.is_(None),
                ses_suppressions.c.reason.in_(("BOUNCE", "COMPLAINT")),
            )
            .order_by(ses_suppressions.c.address)
        ).all()
    for start in range(0, len(pending), batch_size):
        done = []
        for address, reason in pending[start : start + batch_size]:
            throttle.wait()
            try:
                sesv2.put_suppressed_destination(EmailAddress=address, Reason=reason)
            except (ClientError, BotoCoreError) as error:
                log.warning("suppression not pushed address=%s error=%s", address, error)
                result.failed.append(address)
                continue
            done.append(address)
        if done:
            with engine.begin() as connection:
                connection.execute(
                    update(ses_suppressions)
                    .where(ses_suppressions.c.address.in_(done))
                    .values(at_ses=True, synced_at=now)
                )
        result.pushed += len(done)
    return result


def import_suppressions(engine: Engine, sesv2: Any, now: datetime, throttle: Throttle) -> SyncResult:
    """Every address on the SES account-level list becomes (or stays) suppressed locally."""
    result = SyncResult()
    token: str | None = None
    while True:
        throttle.wait()
        arguments: dict[str, Any] = {"PageSize": 1000}
        if token:
            arguments["NextToken"] = token
        page = sesv2.list_suppressed_destinations(**arguments)
        rows = [
            {
                **asdict(
                    Suppression(
                        summary["EmailAddress"].lower(),
                        cause="ses-account-list",
                        reasons=[f"SES/{summary.get('Reason')}"],
                        reason=summary.get("Reason"),
                        at_ses=True,
                        synced_at=now,
                    )
                ),
                "updated_at": now,
            }
            for summary in page.get("SuppressedDestinationSummaries", [])
        ]
        if rows:
            with engine.begin() as connection:
                statement = insert_for(connection, ses_suppressions)
                statement = statement.on_conflict_do_update(
                    index_elements=["address"], set_={"at_ses": True, "synced_at": now}
                )
                connection.execute(statement, rows)
            result.imported += len(rows)
        token = page.get("NextToken")
        if not token:
            return result
