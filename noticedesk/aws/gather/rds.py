"""RDS per region: manual DB and cluster snapshots and whether ``restore`` is shared with ``all``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from noticedesk.aws.gather import GatherError, Scope, call, item_or_error, pages


@dataclass(frozen=True)
class DbSnapshot:
    id: str
    arn: str | None
    cluster: bool
    restorable_by: tuple[str, ...] | GatherError
    """Values of the ``restore`` attribute: ``all`` or account ids."""


@dataclass(frozen=True)
class DbSnapshots:
    snapshots: tuple[DbSnapshot, ...]


def gather_db_snapshots(scope: Scope, region: str | None) -> DbSnapshots:
    rds = scope.client("rds", region)
    # Automated snapshots cannot be shared, so only manual ones can be public.
    instances = pages(rds, "describe_db_snapshots", "DBSnapshots", region, SnapshotType="manual")
    clusters = pages(
        rds, "describe_db_cluster_snapshots", "DBClusterSnapshots", region, SnapshotType="manual"
    )

    def restore(values: list[dict[str, Any]]) -> tuple[str, ...]:
        return tuple(
            value
            for attribute in values
            if attribute.get("AttributeName") == "restore"
            for value in attribute.get("AttributeValues", [])
        )

    def one_instance(raw: dict[str, Any]) -> DbSnapshot:
        name = raw["DBSnapshotIdentifier"]
        return DbSnapshot(
            id=name,
            arn=raw.get("DBSnapshotArn"),
            cluster=False,
            restorable_by=item_or_error(
                "rds",
                "DescribeDBSnapshotAttributes",
                region,
                lambda: restore(
                    call(rds, "describe_db_snapshot_attributes", region, DBSnapshotIdentifier=name)[
                        "DBSnapshotAttributesResult"
                    ]["DBSnapshotAttributes"]
                ),
            ),
        )

    def one_cluster(raw: dict[str, Any]) -> DbSnapshot:
        name = raw["DBClusterSnapshotIdentifier"]
        return DbSnapshot(
            id=name,
            arn=raw.get("DBClusterSnapshotArn"),
            cluster=True,
            restorable_by=item_or_error(
                "rds",
                "DescribeDBClusterSnapshotAttributes",
                region,
                lambda: restore(
                    call(
                        rds,
                        "describe_db_cluster_snapshot_attributes",
                        region,
                        DBClusterSnapshotIdentifier=name,
                    )["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
                ),
            ),
        )

    return DbSnapshots(
        tuple(scope.fanout.map(one_instance, instances)) + tuple(scope.fanout.map(one_cluster, clusters))
    )
