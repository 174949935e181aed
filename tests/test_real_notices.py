"""Triage on the real AWS notices of tests/data/real: kind, stage, abuse types and facts, 100 %.

The notices are held out from the rule table (its cues are written from what each wording
family means, tests/data/families); this scores them as ``scripts/real_check.py`` does, file by
file, so a failure names the file and what was misread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_real_check import REAL, real_check

LABELS: dict[str, dict[str, Any]] = json.loads((REAL / "labels.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    read: dict[str, dict[str, Any]] = real_check.triage_folder(REAL, sorted(LABELS))
    return read


@pytest.mark.parametrize("name", sorted(LABELS))
def test_each_real_notice_is_read_as_labelled(name: str, results: dict[str, dict[str, Any]]) -> None:
    verdict = real_check.judge(LABELS[name], results.get(name))
    assert verdict.problems == {dimension: [] for dimension in real_check.DIMENSIONS}


def test_every_real_notice_carries_the_evidence_that_decided_it(results: dict[str, dict[str, Any]]) -> None:
    for name, got in results.items():
        evidence = got["evidence"]
        assert evidence["kind"]["value"] == got["kind"], name
        if got["kind"] not in ("aws-other", "not-aws"):
            assert evidence["kind"]["cues"], name
        assert {decision["value"] for decision in evidence["abuse_types"]} <= set(got["abuse_types"]), name


def test_the_set_is_large_enough_to_mean_something() -> None:
    assert len(LABELS) >= 30
    assert Path(REAL / "labels.json").is_file()
