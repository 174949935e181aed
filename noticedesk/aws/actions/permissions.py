"""The least-privilege IAM policy for running every fix, with a guard against removing AWS's quarantine."""

from __future__ import annotations

from typing import Any

from noticedesk.aws.actions import ACTIONS
from noticedesk.aws.actions.iam import AWS_QUARANTINE_PREFIX


def fix_permissions() -> list[str]:
    return sorted({permission for action in ACTIONS for permission in action.permissions})


def fix_policy() -> dict[str, Any]:
    """Allow exactly what the actions declare; deny detaching AWSCompromisedKeyQuarantine* even so."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "NoticeDeskFixes", "Effect": "Allow", "Action": fix_permissions(), "Resource": "*"},
            {
                "Sid": "NeverDetachAwsQuarantine",
                "Effect": "Deny",
                "Action": ["iam:DetachUserPolicy", "iam:DetachRolePolicy", "iam:DetachGroupPolicy"],
                "Resource": "*",
                "Condition": {"ArnLike": {"iam:PolicyARN": f"{AWS_QUARANTINE_PREFIX}*"}},
            },
        ],
    }
