"""moto's URL routes built one thread at a time, for runs that reach moto in-process from threads.

moto builds a service's routes (werkzeug rules, compiled through ``ast``) on the first request to
that service. On CPython 3.11, two threads building ASTs at once can fail with ``SystemError: AST
constructor recursion depth mismatch`` (python/cpython#106905). The diagnosis fans out over
regions in threads, so its first requests would build several services' routes at once.
"""

from __future__ import annotations

import threading
from typing import Any

ROUTE_LOCK = threading.Lock()
_MARK = "_noticedesk_one_at_a_time"


def build_routes_one_at_a_time() -> None:
    """Wrap werkzeug's ``Map.add`` (where a rule is compiled) in one lock; calling it again does nothing."""
    from werkzeug.routing import Map

    original = Map.add
    if getattr(original, _MARK, False):
        return

    def add(self: Map, rulefactory: Any) -> None:
        with ROUTE_LOCK:
            original(self, rulefactory)

    setattr(add, _MARK, True)
    setattr(Map, "add", add)  # noqa: B010 - assigning a method directly is refused by mypy
