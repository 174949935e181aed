"""``noticedesk policy``: least-privilege IAM policies built from what checks and actions declare."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from noticedesk.aws.actions.permissions import fix_policy
from noticedesk.aws.checks.catalogue import CATALOGUE


def policy_statement(permissions: Iterable[str], sid: str = "NoticeDesk") -> dict[str, Any]:
    """An IAM policy document allowing exactly these actions (sorted, deduplicated)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": sorted(set(permissions)), "Resource": "*"}],
    }


@click.group()
def policy() -> None:
    """Print the IAM policies NoticeDesk needs: `diagnose` (read-only) and `fix`."""


@policy.command("diagnose")
def policy_diagnose() -> None:
    """The read-only policy every diagnosis check needs, from their declared permissions."""
    permissions = [
        *(permission for check in CATALOGUE for permission in check.permissions),
        "sts:GetCallerIdentity",
        "ec2:DescribeRegions",
    ]
    click.echo(json.dumps(policy_statement(permissions, "NoticeDeskDiagnose"), indent=2))


@policy.command("fix")
def policy_fix() -> None:
    """The least-privilege policy the fixes need (and a deny on detaching the AWS quarantine policy)."""
    click.echo(json.dumps(fix_policy(), indent=2))


COMMANDS = [policy]
