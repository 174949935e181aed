"""What a store raises for values it will not take, and the one line that says why.

PostgreSQL refuses NUL in text and a value longer than its column; SQLite and the drivers refuse a
lone surrogate; both refuse a unique key another writer took meanwhile. A batch that meets one is
stored again input by input (``each_alone_if_refused``), so that the refused input costs only
itself (triage/run.py, feedback/ingest.py, feedback/writer.py). A lost connection or a read-only
store is not a refusal: it ends the command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from noticedesk.text import storable_text

log = logging.getLogger(__name__)
REFUSED = (DataError, IntegrityError, UnicodeError)
Item = TypeVar("Item")
Result = TypeVar("Result")


def each_alone_if_refused(
    store: Callable[[list[Item]], list[Result]],
    items: Sequence[Item],
    refused: Callable[[Item, Exception], list[Result]],
) -> list[Result]:
    """``store(items)`` in one go; if the store refuses a value, ``store`` of each item on its own,
    and ``refused(item, failure)`` for an item refused even alone. Results in the items' order."""
    try:
        return store(list(items))
    except REFUSED as failure:
        if len(items) == 1:
            return refused(items[0], failure)
        log.warning(
            "batch refused by the store; stored item by item", extra={"reason": driver_message(failure)}
        )
        return [result for item in items for result in each_alone_if_refused(store, [item], refused)]


def driver_message(failure: Exception) -> str:
    """``DataError: value too long for type character varying(320)``: what the driver said, its
    first line, for a refusal and for a store that failed as a whole alike."""
    cause = failure.orig if isinstance(failure, DBAPIError) else failure
    lines = str(cause).strip().splitlines()
    return storable_text(f"{type(cause).__name__}: {lines[0] if lines else ''}")[:300]
