"""One statement over many rows with the driver's ``executemany``, values bound as SQLAlchemy would.

Why not ``connection.execute(statement, rows)``: for every row SQLAlchemy builds a fresh
parameter set and runs each value through its type's bind processor one call at a time
(``construct_params``), some 4 to 6 us a row, about what SQLite itself takes to store it. A triage
batch writes about ten rows a notice (its message, its timeline event, a new case's checklist
steps), so here the statement is compiled once per dialect and column list, the rows come as
tuples, and the driver gets them as its paramstyle wants, converted by the same bind processors
(JSON, aware UTC times) and only for the columns that have one.

Two more conversions are shared: equal times are converted once per ``BulkWriter`` (a notice's
receipt time is written four times: message, event, case opened and updated), and a value the
caller already serialized with ``json_text`` is stored as it is (a notice's facts go into its
message, its case and its timeline event).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, Dialect
from sqlalchemy.sql.dml import Update, ValuesBase

from noticedesk.store.types import UtcDateTime

Processor = Callable[[Any], Any]


class JsonText(str):
    """A value already serialized by ``json_text``: a JSON column stores this text as it is."""


def json_text(value: Any) -> JsonText:
    # The same serializer the engine's JSON columns use (``make_engine`` sets none: json.dumps),
    # so the stored text is the same either way.
    return JsonText(json.dumps(value))


def json_object_text(head: dict[str, Any], last_key: str, last_value: JsonText) -> JsonText:
    """``json_text({**head, last_key: value})`` when ``last_value`` is ``json_text(value)``."""
    opening = json.dumps(head)
    separator = ", " if head else ""
    return JsonText(f"{opening[:-1]}{separator}{json.dumps(last_key)}: {last_value}}}")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[int, ...] | None
    """Where the driver's n-th parameter is in a row, when not in the columns' order; named
    paramstyles take a dict, in any order."""
    processors: tuple[tuple[int, Processor, str], ...]
    """(column index, bind processor, "time" | "json" | "") for the columns that convert values."""
    positional: bool


@dataclass
class BulkWriter:
    """Statements of one transaction, sharing the conversion of equal times."""

    connection: Connection
    _times: dict[datetime, Any] = field(default_factory=dict)

    def execute(
        self, statement: ValuesBase | Update, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Run ``statement`` (an INSERT, or an UPDATE with bound parameters) once per row.

        Each row holds the values of ``columns`` in that order: column names for an INSERT,
        bind parameter names (and column names for the SET clause) for an UPDATE.
        """
        if not rows:
            return
        compiled = _compiled(self.connection.dialect, statement, columns)
        converters = [(index, self._converter(process, kind)) for index, process, kind in compiled.processors]
        if converters:
            rows = [_converted(row, converters) for row in rows]
        parameters: list[Any]
        if not compiled.positional:
            parameters = [dict(zip(columns, row, strict=True)) for row in rows]
        elif compiled.order is not None:
            order = compiled.order
            parameters = [tuple([row[index] for index in order]) for row in rows]
        else:
            parameters = list(rows)
        self.connection.exec_driver_sql(compiled.sql, parameters)

    def _converter(self, process: Processor, kind: str) -> Processor:
        if kind == "json":
            return lambda value: value if isinstance(value, JsonText) else process(value)
        if kind != "time":
            return process
        memo = self._times

        def convert(value: datetime | None) -> Any:
            if value is None:
                return None
            # Equal aware times are the same instant, hence the same UTC value; a naive time never
            # equals an aware one, so it still reaches ``process`` and is refused there.
            converted = memo.get(value)
            if converted is None:
                converted = memo[value] = process(value)
            return converted

        return convert


def _converted(row: tuple[Any, ...], converters: list[tuple[int, Processor]]) -> tuple[Any, ...]:
    values = list(row)
    for index, convert in converters:
        values[index] = convert(values[index])
    return tuple(values)


@lru_cache(maxsize=64)
def _compiled(dialect: Dialect, statement: ValuesBase | Update, columns: tuple[str, ...]) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
    if set(compiled.binds) != set(columns):  # a column default would need SQLAlchemy's own path
        raise ValueError(f"BulkWriter: the statement binds {sorted(compiled.binds)}, rows have {columns}")
    positional = compiled.positiontup is not None
    order = None
    if compiled.positiontup is not None and tuple(compiled.positiontup) != columns:
        order = tuple(columns.index(name) for name in compiled.positiontup)
    processors = []
    for index, name in enumerate(columns):
        type_ = compiled.binds[name].type
        if isinstance(type_, UtcDateTime):
            processors.append((index, type_.bulk_bind_processor(dialect), "time"))
            continue
        process = type_.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process, "json" if isinstance(type_, JSON) else ""))
    return _Compiled(str(compiled), order, tuple(processors), positional)
