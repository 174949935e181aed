"""bench/scale.py's diagnose section (``diagnose --all-accounts``): not written yet."""

from __future__ import annotations


def run(accounts: int, latency_ms: float) -> float:
    raise SystemExit("the diagnose section is not written yet")
