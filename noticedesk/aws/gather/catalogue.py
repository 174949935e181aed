"""The sources a diagnosis can gather, by name: global (IAM) or read once per region."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from noticedesk.aws.gather import Scope
from noticedesk.aws.gather.cloudtrail import gather_trail
from noticedesk.aws.gather.ec2 import (
    gather_block_public_access,
    gather_functions,
    gather_images,
    gather_instances,
    gather_network,
    gather_snapshots,
)
from noticedesk.aws.gather.iam import gather_iam
from noticedesk.aws.gather.rds import gather_db_snapshots
from noticedesk.aws.gather.ses import gather_ses


@dataclass(frozen=True)
class Source:
    name: str
    service: str
    regional: bool
    read: Callable[[Scope, str | None], Any]


SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source("iam", "iam", False, gather_iam),
        Source("instances", "ec2", True, gather_instances),
        Source("images", "ec2", True, gather_images),
        Source("snapshots", "ec2", True, gather_snapshots),
        Source("block-public-access", "ec2", True, gather_block_public_access),
        Source("network", "ec2", True, gather_network),
        Source("functions", "lambda", True, gather_functions),
        Source("db-snapshots", "rds", True, gather_db_snapshots),
        Source("trail", "cloudtrail", True, gather_trail),
        Source("ses", "ses", True, gather_ses),
    )
}
