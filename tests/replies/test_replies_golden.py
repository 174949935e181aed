"""Golden files: the English reply and the ja/en summaries of one fixture case per kind.

Regenerate after an intended change with:  NOTICEDESK_UPDATE_GOLDENS=1 pytest tests/replies
and read the diff before committing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

import pytest
from replies_support import DATA, KINDS
from sqlalchemy import Engine

from noticedesk.replies import draft_reply, owner_summary

GOLDEN = DATA / "golden"
UPDATE = os.environ.get("NOTICEDESK_UPDATE_GOLDENS") == "1"


def _check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, "utf-8")
    assert path.exists(), f"{path} missing: run with NOTICEDESK_UPDATE_GOLDENS=1 to create it"
    assert actual == path.read_text("utf-8")


@pytest.mark.parametrize("kind", KINDS)
def test_reply_and_summaries_match_golden_files(
    kind: str, engine: Engine, scenario_case: Callable[[str], int], now: datetime
) -> None:
    case_id = scenario_case(kind)
    draft = draft_reply(engine, case_id, now)
    header = f"To: {draft.to or draft.addressee}\nSubject: {draft.subject}\n\n"
    notes = "".join(f"! {warning}\n" for warning in draft.warnings)
    _check(f"{kind}.reply.en.txt", header + draft.body + "\n--- warnings\n" + notes)
    _check(f"{kind}.summary.ja.txt", owner_summary(engine, case_id, "ja", now))
    _check(f"{kind}.summary.en.txt", owner_summary(engine, case_id, "en", now))
