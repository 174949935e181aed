"""Every registered account diagnosed at once (``diagnose --all-accounts``).

The accounts come from the registry (accounts/registry.py: ``[[accounts]]`` in the config, and
``noticedesk accounts add``); each is read as the client factory says (aws/clients.py): through
``--role-name`` if given, else the role its entry names (``role_arn``, with its ``external_id``),
else ``[diagnose] role_name``, else only if it is the credentials' own account. At most
``concurrency`` accounts are read at once, each with its own parallel reads (``[diagnose]
concurrency``); AWS's API rate limits are per account, so accounts read at once do not throttle
one another. One account that cannot be read (no role, role refused, region list unreadable, a
bug) is reported with why, and the others go on. Each diagnosis is stored as soon as it is
done, so an interrupted run keeps what it read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine

from noticedesk.accounts.registry import Account
from noticedesk.aws.checks import Check
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import Diagnosis, run_diagnosis
from noticedesk.clock import Clock
from noticedesk.config import DiagnoseConfig
from noticedesk.errors import NoticeDeskError
from noticedesk.remediation.diagnoses import store_diagnosis

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
"""Accounts read at once when not told (each with its own ``[diagnose] concurrency`` reads)."""


@dataclass(frozen=True)
class AccountDiagnosis:
    """One account's outcome: its diagnosis, or why there is none."""

    account: Account
    diagnosis: Diagnosis | None = None
    error: str | None = None

    @property
    def failed_checks(self) -> dict[str, int]:
        """Check id → findings that failed (``fail`` or ``warn``), for the summary table."""
        failed: dict[str, int] = {}
        for finding in self.diagnosis.findings if self.diagnosis else ():
            if finding.status in ("fail", "warn"):
                failed[finding.check] = failed.get(finding.check, 0) + 1
        return failed


def diagnose_accounts(
    factory: ClientFactory,
    accounts: Sequence[Account],
    checks: tuple[Check, ...],
    engine: Engine,
    now: Clock,
    *,
    settings: DiagnoseConfig,
    concurrency: int = DEFAULT_CONCURRENCY,
    regions: tuple[str, ...] | None = None,
    done: Callable[[AccountDiagnosis], None] | None = None,
) -> Iterator[AccountDiagnosis]:
    """Each account's outcome, in the order of ``accounts``; ``done`` is told of each as it ends.

    ``regions`` (``--regions``) wins over an account's own list, which wins over the regions
    enabled for the account."""

    def one(account: Account) -> AccountDiagnosis:
        outcome = _diagnose_one(factory, account, checks, engine, now, settings, regions)
        if done is not None:
            done(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="account") as pool:
        yield from pool.map(one, accounts)


def _diagnose_one(
    factory: ClientFactory,
    account: Account,
    checks: tuple[Check, ...],
    engine: Engine,
    now: Clock,
    settings: DiagnoseConfig,
    regions: tuple[str, ...] | None,
) -> AccountDiagnosis:
    try:
        diagnosis = run_diagnosis(
            factory,
            checks,
            now(),
            account_id=account.account_id,
            regions=regions or account.regions or None,
            settings=settings,
        )
        store_diagnosis(engine, diagnosis, None, now())
    except NoticeDeskError as error:  # no role, role refused, quarantined credentials, store down
        log.warning("account not diagnosed", extra={"account": account.account_id, "reason": str(error)})
        return AccountDiagnosis(account, error=str(error))
    except Exception as error:  # a bug met on this account: named, logged, the others go on
        log.warning(
            "account not diagnosed",
            extra={"account": account.account_id},
            exc_info=log.isEnabledFor(logging.INFO),
        )
        return AccountDiagnosis(account, error=f"internal error ({type(error).__name__}: {error})")
    return AccountDiagnosis(account, diagnosis)
