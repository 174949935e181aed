"""AWS's own SES levels: where an account may be placed under review, and where sending may pause.

Both are reached *at* the figure ("5 % or more"), not above it. Sources: "Reputation metrics
messages" (SES Developer Guide) and "Why is my Amazon SES sending account under review or
paused?" (re:Post Knowledge Center); docs/aws-facts.md, 4, and docs/runbooks.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Metric = Literal["bounce", "complaint"]


@dataclass(frozen=True)
class SesLevel:
    metric: Metric
    review: float
    """AWS may place the account under review at this rate or more."""
    pause: float
    """AWS may pause the account's sending at this rate or more."""

    def guarded_by(self, threshold: float) -> str:
        """Which AWS level an alarm at ``threshold`` keeps the sender away from, in one phrase."""
        if threshold < self.review:
            return (
                f"guards AWS's review level ({self.metric} rate {self.review:.1%} or more; "
                f"sending may pause at {self.pause:.1%} or more)"
            )
        if threshold < self.pause:
            return (
                f"at or past AWS's review level ({self.review:.1%} or more): AWS may already review; "
                f"guards the pause level ({self.pause:.1%} or more)"
            )
        return f"at or past AWS's pause level ({self.pause:.1%} or more)"

    def reached_by(self, rate: float) -> str:
        """What AWS may already do at ``rate`` (empty below the review level)."""
        if rate >= self.pause:
            return f"the rate is at or past the level where AWS may pause sending ({self.pause:.1%} or more)"
        if rate >= self.review:
            return (
                f"the rate is at or past the level where AWS may start a review ({self.review:.1%} or more)"
            )
        return ""


SES_LEVELS: dict[Metric, SesLevel] = {
    "bounce": SesLevel("bounce", review=0.05, pause=0.10),
    "complaint": SesLevel("complaint", review=0.001, pause=0.005),
}
