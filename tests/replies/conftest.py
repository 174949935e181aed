"""Fixtures of the reply tests (helpers in replies_support.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from replies_support import build_scenario, load_scenario
from sqlalchemy import Engine


@pytest.fixture
def scenario_case(monkeypatch: pytest.MonkeyPatch) -> Callable[[Engine, str], int]:
    """Build the fixture case of one kind (tests/data/replies/scenarios/<kind>.toml) in a store."""
    return lambda engine, kind: build_scenario(engine, load_scenario(kind), monkeypatch)
