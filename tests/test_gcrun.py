"""The collector settings of a batch run: changed while it runs, restored after, even on error."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from noticedesk.gcrun import YOUNG_THRESHOLD, batch_gc
from noticedesk.mail.readers import RawItem
from noticedesk.triage import Triage


def test_batch_gc_restores_the_thresholds_and_thaws_what_it_froze() -> None:
    before = gc.get_threshold()
    with batch_gc():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_batch_gc_restores_on_error_and_leaves_a_callers_freeze() -> None:
    before = gc.get_threshold()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with pytest.raises(RuntimeError), batch_gc():
            raise RuntimeError("a batch failed")
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == frozen  # not thawed: the caller froze them
    finally:
        gc.unfreeze()


def test_triage_runs_with_the_batch_settings(sqlite_engine: Engine) -> None:
    seen: list[int] = []

    def items() -> Iterator[RawItem]:
        seen.append(gc.get_threshold()[0])
        yield RawItem(source="not-a-mail.eml", index=None, raw=b"\x00\x01binary", format="mail")

    results = list(Triage(sqlite_engine).run(items()))
    assert seen == [YOUNG_THRESHOLD]
    assert results[0].error is not None  # the bad input is kept and reported, the run ends
    assert gc.get_threshold()[0] != YOUNG_THRESHOLD
