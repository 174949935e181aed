"""scripts/real_check.py: scores triage on a labelled folder per kind, stage, abuse types and facts."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
REAL = ROOT / "tests" / "data" / "real"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_check", ROOT / "scripts" / "real_check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_check"] = module
    spec.loader.exec_module(module)
    return module


real_check = _load()

GOT: dict[str, Any] = {
    "kind": "abuse-report",
    "stage": "reminder",
    "abuse_types": ["port-scan", "intrusion"],
    "account_id": "111122223333",
    "ports": [22, 3389],
    "reply_by": "2024-06-19T00:00:00+00:00",
    "reply_by_stated": "2024-06-18T00:00:00+00:00",
    "bounce_rate": 9.8,
}


def test_a_reading_that_matches_every_label_has_no_problem() -> None:
    label = {
        "kind": "abuse-report",
        "stage": "reminder",
        "abuse_types": ["intrusion", "port-scan"],
        "facts": {"account_id": "111122223333", "ports": [22], "reply_by": "2024-06-18", "bounce_rate": 9.8},
    }
    assert real_check.judge(label, GOT).ok


def test_each_dimension_reports_its_own_mismatch() -> None:
    label = {
        "kind": "account-compromised",
        "stage": "final",
        "abuse_types": ["intrusion"],
        "facts": {"ports": [25], "reply_by": "2024-06-19", "bounce_rate": 5.0},
    }
    problems = real_check.judge(label, GOT).problems
    assert problems["kind"] == ["kind abuse-report (want account-compromised)"]
    assert problems["stage"] == ["stage reminder (want final)"]
    assert problems["abuse_types"] == ["abuse_types ['intrusion', 'port-scan'] (want ['intrusion'])"]
    assert len(problems["facts"]) == 3  # a missing port, the stated date (not the default), the rate


def test_an_unread_file_fails_every_dimension() -> None:
    verdict = real_check.judge({"kind": "aws-other", "stage": "notice"}, {"error": "bad MIME"})
    assert all(problems == ["not read: bad MIME"] for problems in verdict.problems.values())


def _folder(tmp_path: Path, names: list[str]) -> Path:
    for name in names:
        shutil.copy(REAL / name, tmp_path / name)
    return tmp_path


def test_full_marks_exit_zero_and_a_wrong_label_exit_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    names = sorted(path.name for path in REAL.glob("*.eml"))[:2]
    folder = _folder(tmp_path, names)
    results = real_check.triage_folder(folder, names)
    labels = {
        name: {"kind": got["kind"], "stage": got["stage"], "abuse_types": got["abuse_types"]}
        for name, got in results.items()
    }
    (folder / "labels.json").write_text(json.dumps(labels), "utf-8")
    monkeypatch.setattr(sys, "argv", ["real_check.py", str(folder)])
    assert real_check.main() == 0
    labels[names[0]]["kind"] = "not-aws" if results[names[0]]["kind"] != "not-aws" else "aws-other"
    (folder / "labels.json").write_text(json.dumps(labels), "utf-8")
    assert real_check.main() == 1
    out = capsys.readouterr().out
    assert f"FAIL {names[0]}" in out and "kind           1/2" in out


def test_a_folder_without_labels_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["real_check.py", str(tmp_path)])
    assert real_check.main() == 2
    assert "no labels.json" in capsys.readouterr().err


def test_the_real_folder_is_labelled_file_by_file() -> None:
    labels = json.loads((REAL / "labels.json").read_text("utf-8"))
    assert sorted(labels) == sorted(path.name for path in REAL.glob("*.eml"))
    assert len(labels) >= 30
    for label in labels.values():
        assert label["abuse_types"] == sorted(label["abuse_types"])
        assert label["source"]["url"].startswith("https://")
