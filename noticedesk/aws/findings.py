"""A finding: one check's verdict on one resource. The contract between diagnosis, fixes and replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["fail", "warn", "pass", "error"]
"""``warn``: nothing wrong was found, but what was found needs a person's look (never a fix)."""
Severity = Literal["critical", "high", "medium", "low", "info"]


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    severity: Severity
    account_id: str | None
    region: str | None
    resource_id: str | None
    detail: str
    """One human sentence. Secrets never appear here: access keys are masked (AKIA…WXYZ)."""
    data: dict[str, Any] = field(default_factory=dict)
    """Structured facts for fixes and replies, e.g. {"resource_type": "ami", "public": true}."""

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "severity": self.severity,
            "account_id": self.account_id,
            "region": self.region,
            "resource_id": self.resource_id,
            "detail": self.detail,
            "data": self.data,
        }


def mask_key(access_key_id: str) -> str:
    """AKIAIOSFODNN7EXAMPLE → AKIA…MPLE: enough to recognise, not enough to use."""
    if len(access_key_id) < 8:
        return "…"
    return f"{access_key_id[:4]}…{access_key_id[-4:]}"
