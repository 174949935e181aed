"""Golden files: the English reply and the ja/en summaries of one fixture case per kind.

Regenerate after an intended change with:  NOTICEDESK_UPDATE_GOLDENS=1 pytest tests/replies
and read the diff before committing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

import pytest
from replies_support import DATA, KINDS, assert_nothing_invented
from sqlalchemy import Engine

from noticedesk.replies import draft_reply, gather, owner_summary

GOLDEN = DATA / "golden"
UPDATE = os.environ.get("NOTICEDESK_UPDATE_GOLDENS") == "1"


def _check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, "utf-8")
    assert path.exists(), f"{path} missing: run with NOTICEDESK_UPDATE_GOLDENS=1 to create it"
    assert actual == path.read_text("utf-8")


def _check_case(engine: Engine, kind: str, case_id: int, now: datetime) -> None:
    draft = draft_reply(engine, case_id, now)
    header = f"{draft.variant}\nTo: {draft.to or draft.addressee}\nSubject: {draft.subject}\n\n"
    notes = "".join(f"! {warning}\n" for warning in draft.warnings)
    _check(f"{kind}.reply.en.txt", header + draft.body + "\n--- warnings\n" + notes)
    _check(f"{kind}.summary.ja.txt", owner_summary(engine, case_id, "ja", now))
    _check(f"{kind}.summary.en.txt", owner_summary(engine, case_id, "en", now))
    context = gather(engine, case_id)
    assert_nothing_invented(draft.body, context, to_aws=True)
    for text in (draft.subject, *draft.warnings, owner_summary(engine, case_id, "ja", now)):
        assert_nothing_invented(text, context)


@pytest.mark.parametrize("kind", KINDS)
def test_reply_and_summaries_match_golden_files(
    kind: str, sqlite_engine: Engine, scenario_case: Callable[[Engine, str], int], now: datetime
) -> None:
    _check_case(sqlite_engine, kind, scenario_case(sqlite_engine, kind), now)


def test_the_same_golden_files_come_out_of_postgresql(
    postgres_engine: Engine, scenario_case: Callable[[Engine, str], int], now: datetime
) -> None:
    """Composing is pure; what differs between stores is reading the case back (types, order)."""
    kind = "account-compromised"  # the richest case: failed, unverified and undone actions
    _check_case(postgres_engine, kind, scenario_case(postgres_engine, kind), now)
