"""A progress bar for long work on a terminal: shown only once the work has taken ~2 s.

Short work prints nothing extra; ``--json`` or output that is not a terminal never gets a bar
(the caller passes ``show=False``). The bar is transient: it is gone when the work ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

DELAY_SECONDS = 2.0


class LazyProgress:
    """Counts work done; after ``delay`` seconds, shows it as a Rich progress bar."""

    def __init__(
        self,
        console: Console,
        description: str,
        total: int | None = None,
        delay: float = DELAY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console, self.description, self.total = console, description, total
        self.delay, self.clock = delay, clock
        self.started_at = clock()
        self.done = 0
        self.note = ""
        self.bar: Progress | None = None
        self._task = TaskID(0)

    def advance(self, count: int = 1, note: str | None = None) -> None:
        self.done += count
        if note is not None:
            self.note = note
        if self.bar is None:
            if self.clock() - self.started_at < self.delay:
                return
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn() if self.total else TextColumn("{task.completed}"),
                TextColumn("{task.fields[note]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._task = self.bar.add_task(self.description, total=self.total, note=self.note)
            self.bar.start()
        self.bar.update(self._task, completed=self.done, note=self.note)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __enter__(self) -> LazyProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


@contextmanager
def progress(
    console: Console, show: bool, description: str, total: int | None = None
) -> Iterator[Callable[..., None]]:
    """``advance(count=1, note=None)`` for the work; a bar only when ``show`` and the work is long."""
    if not show:
        yield lambda count=1, note=None: None
        return
    with LazyProgress(console, description, total) as bar:
        yield bar.advance
