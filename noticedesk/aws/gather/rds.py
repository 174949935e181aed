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


@dataclass(frozen=True)
class _Shape:
    """How one of the two snapshot kinds is named in the RDS API."""

    cluster: bool
    list_operation: str
    list_key: str
    id_key: str
    arn_key: str
    attributes_api: str
    attributes_operation: str
    attributes_key: str


_INSTANCE = _Shape(
    False,
    "describe_db_snapshots",
    "DBSnapshots",
    "DBSnapshotIdentifier",
    "DBSnapshotArn",
    "DescribeDBSnapshotAttributes",
    "describe_db_snapshot_attributes",
    "DBSnapshotAttributes",
)
_CLUSTER = _Shape(
    True,
    "describe_db_cluster_snapshots",
    "DBClusterSnapshots",
    "DBClusterSnapshotIdentifier",
    "DBClusterSnapshotArn",
    "DescribeDBClusterSnapshotAttributes",
    "describe_db_cluster_snapshot_attributes",
    "DBClusterSnapshotAttributes",
)


def _restore(values: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(
        value
        for attribute in values
        if attribute.get("AttributeName") == "restore"
        for value in attribute.get("AttributeValues", [])
    )


def gather_db_snapshots(scope: Scope, region: str | None) -> DbSnapshots:
    rds = scope.client("rds", region)
    # Automated snapshots cannot be shared, so only manual ones can be public.
    listed = [
        (shape, raw)
        for shape in (_INSTANCE, _CLUSTER)
        for raw in pages(rds, shape.list_operation, shape.list_key, region, SnapshotType="manual")
    ]

    def one(item: tuple[_Shape, dict[str, Any]]) -> DbSnapshot:
        shape, raw = item
        name = raw[shape.id_key]

        def restorable_by() -> tuple[str, ...]:
            answer = call(rds, shape.attributes_operation, region, **{shape.id_key: name})
            return _restore(answer[f"{shape.attributes_key}Result"][shape.attributes_key])

        return DbSnapshot(
            id=name,
            arn=raw.get(shape.arn_key),
            cluster=shape.cluster,
            restorable_by=item_or_error("rds", shape.attributes_api, region, restorable_by),
        )

    return DbSnapshots(tuple(scope.fanout.map(one, listed)))
