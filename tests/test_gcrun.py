"""The collector settings of a batch run: changed while it runs, restored after, even on error."""

from __future__ import annotations

import gc
import threading
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
        with pytest.raises(RuntimeError), batch_gc():
            raise RuntimeError("a batch failed")
        assert gc.get_threshold() == before
        # Not thawed (gc.unfreeze empties it): the caller froze them. Not compared with the count
        # before: a frozen object freed meanwhile leaves the permanent generation.
        assert gc.get_freeze_count() > 0
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


def test_overlapping_runs_restore_the_settings_when_the_last_one_ends() -> None:
    """Two threads' runs (the webhook's writer, a triage): the first changes, the last restores."""
    before = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        with batch_gc():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with batch_gc():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.get_threshold()[0])  # the first ended: this run still has its settings

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [YOUNG_THRESHOLD]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
