"""Every check, in the order they are listed and run."""

from __future__ import annotations

from noticedesk.aws.checks import Check, abuse, activity, compute, identity, public, ses
from noticedesk.errors import ConfigError

CATALOGUE: tuple[Check, ...] = (
    *identity.CHECKS,
    *activity.CHECKS,
    *compute.CHECKS,
    *public.CHECKS,
    *abuse.CHECKS,
    *ses.CHECKS,
)
BY_ID = {check.id: check for check in CATALOGUE}


def select(ids: list[str]) -> tuple[Check, ...]:
    unknown = [name for name in ids if name not in BY_ID]
    if unknown:
        raise ConfigError(f"unknown check(s): {', '.join(unknown)}; see `noticedesk checks`")
    return tuple(BY_ID[name] for name in ids)
