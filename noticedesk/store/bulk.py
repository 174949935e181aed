"""Many rows into one table with the driver's ``executemany``, each value bound as SQLAlchemy would.

Why not ``connection.execute(insert(table), rows)``: for every row SQLAlchemy builds a fresh
parameter set and runs each value through its type's bind processor one call at a time
(``construct_params``), some 4 to 6 us a row, about what SQLite itself takes to store it. A triage
batch writes about ten rows a notice (its message, its timeline event, a new case's checklist
steps), so here the INSERT is compiled once per dialect and column list, and the driver gets the
rows as its paramstyle wants them, converted by the same bind processors (JSON, aware UTC times).

A ``BulkWriter`` also remembers the times it converted: a notice's receipt time is written four
times (message, event, case opened and updated), and converting a time costs more than the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table, insert

from noticedesk.store.types import UtcDateTime

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Insert:
    sql: str
    names: tuple[str, ...]
    """The bound columns in the order the driver takes them."""
    processors: tuple[Processor | None, ...]
    """Each column's bind processor, if its type converts values on the way in."""
    times: tuple[bool, ...]
    """Which columns hold aware UTC times."""
    positional: bool


@dataclass
class BulkWriter:
    """Inserts for one transaction, sharing the conversion of equal times."""

    connection: Connection
    _times: dict[datetime, Any] = field(default_factory=dict)

    def insert(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """INSERT ``rows`` (dicts with the same keys, values as for ``connection.execute``) in one go."""
        if not rows:
            return
        statement = _compiled(self.connection.dialect, table, tuple(rows[0]))
        convert = [
            self._time_processor(process) if is_time and process else process
            for process, is_time in zip(statement.processors, statement.times, strict=True)
        ]
        columns = list(zip(statement.names, convert, strict=True))
        if statement.positional:
            parameters: list[Any] = [
                tuple([row[name] if process is None else process(row[name]) for name, process in columns])
                for row in rows
            ]
        else:
            parameters = [
                {name: row[name] if process is None else process(row[name]) for name, process in columns}
                for row in rows
            ]
        self.connection.exec_driver_sql(statement.sql, parameters)

    def _time_processor(self, process: Processor) -> Processor:
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


@lru_cache(maxsize=64)
def _compiled(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Insert:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    if set(compiled.binds) != set(keys):  # a column default would need SQLAlchemy's own path
        raise ValueError(f"BulkWriter: {table.name} binds {sorted(compiled.binds)}, rows have {keys}")
    positional = compiled.positiontup is not None
    names = tuple(compiled.positiontup) if compiled.positiontup is not None else keys
    types = [table.c[name].type for name in names]
    return _Insert(
        sql=str(compiled),
        names=names,
        processors=tuple(type_.dialect_impl(dialect).bind_processor(dialect) for type_ in types),
        times=tuple(isinstance(type_, UtcDateTime) for type_ in types),
        positional=positional,
    )
