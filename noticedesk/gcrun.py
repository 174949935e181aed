"""The cyclic garbage collector tuned for a long batch run (triage of an mbox, an SES import)."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000
"""Allocations between two young collections during a batch run (Python's default: 700)."""


class _Runs:
    """The batch runs under way in this process: the collector is a process-wide setting, so the
    first run to start changes it and the last to end restores it (the webhook's writer thread
    and a triage may overlap)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.thresholds: tuple[int, ...] = gc.get_threshold()
        self.froze = False

    def start(self) -> None:
        with self.lock:
            if self.count == 0:
                self.thresholds = gc.get_threshold()
                # Frozen already (a server that forks): left alone, gc.unfreeze would thaw those too.
                self.froze = not gc.get_freeze_count()
                if self.froze:
                    gc.freeze()
                gc.set_threshold(YOUNG_THRESHOLD, *self.thresholds[1:])
            self.count += 1

    def end(self) -> None:
        with self.lock:
            self.count -= 1
            if self.count == 0:
                gc.set_threshold(*self.thresholds)
                if self.froze:
                    gc.unfreeze()


_RUNS = _Runs()
if hasattr(os, "register_at_fork"):  # a forked child starts with no run of its own, and a free lock
    os.register_at_fork(after_in_child=_RUNS.reset)


@contextmanager
def batch_gc() -> Iterator[None]:
    """Collect less often during a long run of batches; restored when the last run ends.

    Objects alive before the run are frozen (skipped by every collection, never freed), and young
    collections come every 10,000 allocations instead of 700; why and what it saves:
    docs/performance.md.
    """
    _RUNS.start()
    try:
        yield
    finally:
        _RUNS.end()
