"""A function applied across worker processes, batch by batch, results in input order.

``OrderedPool(work, jobs)`` forks ``jobs`` processes at once (before any other thread of the
caller needs them: a fork copies only the calling thread), each holding ``work``; ``map`` then
sends each batch out in chunks and yields ``(batch, results)`` in input order, keeping at most
``ahead`` batches in flight beyond the one being yielded. So memory stays bounded by a few
batches however long the input is, and the caller's own work on batch k (filing it, say)
overlaps the workers' on batches k+1 and k+2.

Fork, not spawn: ``work`` reaches the workers without being pickled (it may be a bound method of
an object holding an engine or a DNS resolver), and a worker starts in milliseconds with every
module already imported. Only the items and the results cross between processes.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.reduction import ForkingPickler
from typing import Any, Generic, TypeVar

from noticedesk.errors import NoticeDeskError
from noticedesk.gcrun import YOUNG_THRESHOLD

T = TypeVar("T")
R = TypeVar("R")

CHUNK = 25
"""Items per task: enough that a task's overhead (two pickles, a queue round trip) is small
beside reading 25 mails, few enough that the last chunks of a batch spread over the workers."""

_work: Callable[[Any], Any] | None = None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _start(work: Callable[[Any], Any]) -> None:
    """In each worker, first: what the fork copied is frozen (the collector never walks it, so its
    pages stay shared with the parent instead of being copied when walked), and young collections
    come as seldom as in a batch run of the parent (gcrun.py)."""
    global _work
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    _work = work


def _apply(chunk: list[Any]) -> list[Any]:
    assert _work is not None, "worker started without its function"
    return [_work(item) for item in chunk]


def _nothing() -> None:
    return None


Reducer = Callable[[Any], tuple[Any, tuple[Any, ...]]]


class OrderedPool(Generic[T, R]):
    def __init__(
        self,
        work: Callable[[T], R],
        jobs: int,
        ahead: int = 2,
        reducers: Mapping[type, Reducer] | None = None,
    ) -> None:
        """``reducers``: faster ways to pickle some types of the results (``copyreg`` style: object
        → (callable, args) that rebuild it), for types whose default is slow (an enum member, a
        slotted dataclass: Python-level ``__reduce_ex__`` / ``__getstate__`` per object)."""
        self.ahead = ahead
        for kind, reducer in (reducers or {}).items():
            ForkingPickler.register(kind, reducer)  # before the fork: the workers pickle with them
        self._executor = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start,
            initargs=(work,),
        )
        # With fork, every worker is started on the first submit, before the executor's own
        # thread exists: do it now, while the caller has no other thread either.
        self._executor.submit(_nothing).result()

    def map(self, batches: Iterable[list[T]]) -> Iterator[tuple[list[T], list[R]]]:
        pending: deque[tuple[list[T], list[Future[list[R]]]]] = deque()
        for batch in batches:
            chunks = [batch[start : start + CHUNK] for start in range(0, len(batch), CHUNK)]
            pending.append((batch, [self._executor.submit(_apply, chunk) for chunk in chunks]))
            if len(pending) > self.ahead:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    @staticmethod
    def _collect(batch: list[T], futures: list[Future[list[R]]]) -> tuple[list[T], list[R]]:
        try:
            return batch, [result for future in futures for result in future.result()]
        except BrokenProcessPool as error:
            raise NoticeDeskError(
                "a worker process stopped before it finished (killed, or out of memory); what "
                "was filed before is kept, and a new run recognises it"
            ) from error

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> OrderedPool[T, R]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
