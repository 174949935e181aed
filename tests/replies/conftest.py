"""Fixtures of the reply tests (helpers in replies_support.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from replies_support import build_scenario, load_scenario
from sqlalchemy import Engine


@pytest.fixture
def scenario_case(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], int]:
    return lambda kind: build_scenario(engine, load_scenario(kind), monkeypatch)
