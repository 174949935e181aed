"""The schema revision a store is at and the newest this version ships, told without Alembic.

Opening the store compares the two on every start; Alembic (a tenth of a second to import) is
loaded only when they differ, to migrate (``store/db.py``).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from importlib import resources

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

VERSION_TABLE = "alembic_version"
"""Where Alembic keeps the revisions a store is at (its default name; migrations/env.py keeps it)."""
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


@cache
def shipped_heads() -> frozenset[str]:
    """The head revisions of the migrations in the package: those no other revision builds on.

    Read from each file's ``revision = "…"`` and ``down_revision = …`` lines, as Alembic writes them.
    """
    revisions: set[str] = set()
    built_on: set[str] = set()
    folder = resources.files("noticedesk.store").joinpath("migrations", "versions")
    for entry in folder.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith("__"):
            continue
        values = dict(_ASSIGNMENT.findall(entry.read_text(encoding="utf-8")))
        if "revision" not in values:
            continue
        revisions.add(str(ast.literal_eval(values["revision"])))
        down = ast.literal_eval(values.get("down_revision", "None"))
        built_on.update([down] if isinstance(down, str) else (down or ()))
    return frozenset(revisions - built_on)


def stored_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions the store is at; ``None`` when it cannot tell (no schema yet, not reachable)."""
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars()
            return frozenset(str(row) for row in rows)
    except DBAPIError:
        return None


def is_current(engine: Engine) -> bool:
    """The store is at exactly the revisions this version ships: nothing to migrate."""
    return stored_revisions(engine) == shipped_heads()
