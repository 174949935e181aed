#!/usr/bin/env python3
"""Triage a folder of labelled real AWS notices and score kind, stage, abuse types and facts.

Not a test (the suite is scored separately): a measuring stick for the classifier, run as

    .venv/bin/python scripts/real_check.py tests/data/real

``labels.json`` in the folder says, per file, the expected ``kind``, ``stage``, ``abuse_types``
(compared as a set: every type expected, none extra) and ``facts`` (lists: each labelled value
found, case-insensitive; ``reply_by`` as a date prefix of the date the notice states; rates in
percent; other values equal, case-insensitive). Every file is triaged in-process into one
throw-away SQLite store, in name order, as ``noticedesk triage`` would. Prints each file's
mismatches, then the score per dimension. Exit 0 only at full marks, 1 below, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noticedesk.triage import Triage
from noticedesk.mail.readers import read_sources
from noticedesk.store.db import open_store

DIMENSIONS = ("kind", "stage", "abuse_types", "facts")


@dataclass
class Verdict:
    """What one file got wrong, per dimension (an empty list: right)."""

    problems: dict[str, list[str]] = field(default_factory=lambda: {d: [] for d in DIMENSIONS})

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())


def fact_problems(wanted_facts: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Each labelled fact triage did not find (scripts/corpus_check.py judges facts the same way)."""
    problems: list[str] = []
    for name, wanted in wanted_facts.items():
        value = got.get(name)
        if isinstance(wanted, list):
            have = {str(item).lower() for item in value or []}
            missing = [item for item in wanted if str(item).lower() not in have]
            if missing:
                problems.append(f"{name} lacks {missing} (got {value})")
        elif name == "reply_by":
            stated = got.get("reply_by_stated", value)
            if not str(stated or "").startswith(str(wanted)):
                problems.append(f"reply_by {stated} (want {wanted})")
        elif isinstance(wanted, float | int) and not isinstance(wanted, bool):
            if value is None or abs(float(value) - float(wanted)) > 1e-6:
                problems.append(f"{name} {value} (want {wanted})")
        elif str(value or "").lower() != str(wanted).lower():
            problems.append(f"{name} {value} (want {wanted})")
    return problems


def judge(label: dict[str, Any], got: dict[str, Any] | None) -> Verdict:
    verdict = Verdict()
    if got is None or got.get("error"):
        reason = "no result" if got is None else f"not read: {got['error']}"
        for dimension in DIMENSIONS:
            verdict.problems[dimension].append(reason)
        return verdict
    if got["kind"] != label["kind"]:
        verdict.problems["kind"].append(f"kind {got['kind']} (want {label['kind']})")
    if got["stage"] != label["stage"]:
        verdict.problems["stage"].append(f"stage {got['stage']} (want {label['stage']})")
    wanted_types = sorted(label.get("abuse_types", []))
    got_types = sorted(got.get("abuse_types") or [])
    if wanted_types != got_types:
        verdict.problems["abuse_types"].append(f"abuse_types {got_types} (want {wanted_types})")
    verdict.problems["facts"].extend(fact_problems(label.get("facts", {}), got))
    return verdict


def triage_folder(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    paths = [str(folder / name) for name in names]
    with tempfile.TemporaryDirectory() as scratch:
        engine = open_store(f"sqlite:///{Path(scratch) / 'real.db'}")
        try:
            results = Triage(engine).run(read_sources(paths))
            return {Path(r.source).name: r.to_json() for r in results}
        finally:
            engine.dispose()


def check(folder: Path) -> dict[str, tuple[int, int]]:
    labels: dict[str, dict[str, Any]] = json.loads((folder / "labels.json").read_text("utf-8"))
    results = triage_folder(folder, sorted(labels))
    scores = {dimension: [0, 0] for dimension in (*DIMENSIONS, "all")}
    for name, label in sorted(labels.items()):
        got = results.get(name)
        verdict = judge(label, got)
        for dimension in DIMENSIONS:
            if dimension == "facts" and not label.get("facts"):
                continue
            scores[dimension][1] += 1
            scores[dimension][0] += not verdict.problems[dimension]
        scores["all"][1] += 1
        scores["all"][0] += verdict.ok
        shown = f"{got['kind']}/{got['stage']}/{got.get('abuse_types')}" if got else "-"
        problems = [p for dimension in DIMENSIONS for p in verdict.problems[dimension]]
        print(f"{'ok  ' if verdict.ok else 'FAIL'} {name:<64} {shown}")
        if problems:
            print("     " + "; ".join(problems))
    print()
    for dimension, (right, total) in scores.items():
        share = 100.0 * right / total if total else 100.0
        print(f"{dimension:<12} {right:>3}/{total:<3} {share:5.1f} %")
    return {dimension: (right, total) for dimension, (right, total) in scores.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("tests/data/real"))
    args = parser.parse_args()
    if not (args.folder / "labels.json").is_file():
        print(f"error: {args.folder}: no labels.json here", file=sys.stderr)
        return 2
    scores = check(args.folder)
    right, total = scores["all"]
    return 0 if right == total else 1


if __name__ == "__main__":
    sys.exit(main())
