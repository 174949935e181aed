#!/usr/bin/env python3
"""Triage the shared corpus of real AWS notices and score the result against its labels.json.

Not a test: the corpus lives outside the repository. CI runs it when ../shared/corpus exists:

    .venv/bin/python scripts/corpus_check.py ../shared/corpus

A file scores when its kind (``null`` in the labels: any kind), stage (when labelled), every
labelled fact (judged as scripts/real_check.py judges facts: ``reply_by`` as a date prefix of the
date the notice states) and authenticity (when labelled) match. Exit 0 only at full marks.
Labels written before the stage vocabulary changed are read in today's words: "probation" (AWS's
older name for the SES review) is stage ``notice``, as migration 0006 stores it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from real_check import fact_problems, triage_folder  # the real-notice check beside this script

_OLDER_STAGES = {"probation": "notice"}


def _problems(label: dict[str, Any], got: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if got.get("error"):
        return [f"not read: {got['error']}"]
    if label.get("kind") is not None and got["kind"] != label["kind"]:
        problems.append(f"kind {got['kind']} (want {label['kind']})")
    stage = _OLDER_STAGES.get(label.get("stage", ""), label.get("stage"))
    if "stage" in label and got["stage"] != stage:
        problems.append(f"stage {got['stage']} (want {stage})")
    if "auth" in label and got["authenticity"] != label["auth"]:
        problems.append(f"authenticity {got['authenticity']} (want {label['auth']})")
    problems.extend(fact_problems(label.get("facts", {}), got))
    return problems


def check(corpus: Path) -> tuple[int, int]:
    labels: dict[str, dict[str, Any]] = json.loads((corpus / "labels.json").read_text("utf-8"))
    results = triage_folder(corpus, sorted(labels))
    passed = 0
    for name, label in sorted(labels.items()):
        got = results.get(name)
        problems = ["no result"] if got is None else _problems(label, got)
        passed += not problems
        verdict = "ok  " if not problems else "FAIL"
        shown = f"{got['kind']}/{got['stage']}/{got['authenticity']}" if got else "-"
        print(f"{verdict} {name:<58} {shown}" + ("" if not problems else "\n     " + "; ".join(problems)))
    print(f"\ncorpus score: {passed}/{len(labels)}")
    return passed, len(labels)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=Path("../shared/corpus"))
    args = parser.parse_args()
    if not (args.corpus / "labels.json").is_file():
        print(f"error: {args.corpus}: no labels.json here", file=sys.stderr)
        return 2
    passed, total = check(args.corpus)
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
