"""The catalogue of fixes (Cloud Custodian style): small actions in one registry, applied by one runner.

``propose`` turns a case's failing findings into planned actions, in the catalogue's order (deactivate
before delete, isolate before stop, containment before the region-wide guard rails, so that a
guard rail an account cannot switch on does not hold back the fixes that stop the damage).
It is pure. Which
diagnosis check calls for which action is each action's ``triggers`` table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from noticedesk.aws.actions.base import Action, Call, Outcome, PlannedAction, mask_secrets
from noticedesk.aws.actions.iam import IAM_ACTIONS
from noticedesk.aws.actions.images import GUARD_RAILS, IMAGE_ACTIONS
from noticedesk.aws.actions.instances import INSTANCE_ACTIONS
from noticedesk.aws.actions.ses import SES_ACTIONS
from noticedesk.aws.findings import Finding
from noticedesk.errors import NotFoundError

ACTIONS: tuple[Action, ...] = (*IAM_ACTIONS, *IMAGE_ACTIONS, *INSTANCE_ACTIONS, *SES_ACTIONS, *GUARD_RAILS)
_BY_NAME = {action.name: action for action in ACTIONS}
_ORDER = {action.name: position for position, action in enumerate(ACTIONS)}

__all__ = ["ACTIONS", "Action", "Call", "Outcome", "PlannedAction", "get_action", "mask_secrets", "propose"]


def get_action(name: str) -> Action:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise NotFoundError(f"no action named {name!r} (see `noticedesk actions`)") from None


def propose(findings: Iterable[Finding], now: datetime, kind: str | None = None) -> list[PlannedAction]:
    """Every action the failing findings call for, one per (action, resource, region), in catalogue order.

    When several findings call for the same change, it is a default action if any of them makes it one;
    in a case of ``kind``, only if the action may be a default in that kind of case.
    """
    plans: dict[tuple[str, str, str], PlannedAction] = {}
    for finding in findings:
        if finding.status != "fail":
            continue
        for action in ACTIONS:
            if action.proposes(finding):
                plan = action.plan(finding, now)
                outside = (
                    kind is not None and action.default_kinds is not None and kind not in action.default_kinds
                )
                if outside or not action.triggers[finding.check]:
                    plan = replace(plan, default=False)
                if action.shows_unfixed(finding):
                    plan = replace(plan, changed_back=True)
                known = plans.get(plan.key)
                if known is None or (plan.default and not known.default):
                    plans[plan.key] = replace(
                        plan, changed_back=plan.changed_back or bool(known and known.changed_back)
                    )
                elif plan.changed_back:
                    plans[plan.key] = replace(known, changed_back=True)
    return sorted(plans.values(), key=lambda plan: (_ORDER[plan.action], plan.region or "", plan.resource_id))
