"""The catalogue of fixes (Cloud Custodian style): small actions in one registry, applied by one runner.

``propose`` turns a case's failing findings into planned actions, in the catalogue's order (deactivate
before delete, make private before block-public-access, isolate before stop). It is pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from noticedesk.aws.actions.base import Action, Call, Outcome, PlannedAction, mask_secrets
from noticedesk.aws.actions.iam import IAM_ACTIONS
from noticedesk.aws.actions.images import IMAGE_ACTIONS
from noticedesk.aws.actions.instances import INSTANCE_ACTIONS
from noticedesk.aws.actions.ses import SES_ACTIONS
from noticedesk.aws.findings import Finding
from noticedesk.errors import NotFoundError

ACTIONS: tuple[Action, ...] = (*IAM_ACTIONS, *IMAGE_ACTIONS, *INSTANCE_ACTIONS, *SES_ACTIONS)
_BY_NAME = {action.name: action for action in ACTIONS}
_ORDER = {action.name: position for position, action in enumerate(ACTIONS)}

__all__ = ["ACTIONS", "Action", "Call", "Outcome", "PlannedAction", "get_action", "mask_secrets", "propose"]


def get_action(name: str) -> Action:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise NotFoundError(f"no action named {name!r} (see `noticedesk actions`)") from None


def propose(findings: Iterable[Finding], now: datetime) -> list[PlannedAction]:
    """Every action the failing findings call for, one per (action, resource, region), in catalogue order."""
    plans: dict[tuple[str, str, str], PlannedAction] = {}
    for finding in findings:
        if finding.status != "fail":
            continue
        for action in ACTIONS:
            if action.proposes(finding):
                plan = action.plan(finding, now)
                plans.setdefault(plan.key, plan)
    return sorted(plans.values(), key=lambda plan: (_ORDER[plan.action], plan.region or "", plan.resource_id))
