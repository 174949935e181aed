"""A role registered for one account (boto3-free, so the registry can name it without loading boto3)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoleToAssume:
    """A role registered for one account: its ARN and the external id its trust policy asks for."""

    arn: str
    external_id: str | None = None
