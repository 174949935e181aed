"""The test suite itself: it runs from a plain `pytest` at the repo root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
ONE_FILE = ["tests/test_feedback_events.py"]  # imports `tests.conftest`


def test_plain_pytest_at_the_root_finds_the_test_helpers() -> None:
    # -P: the working directory is not put on sys.path, as with the `pytest` command itself.
    result = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *ONE_FILE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ModuleNotFoundError" not in result.stdout
