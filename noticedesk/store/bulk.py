"""Many rows into one table with the driver's ``executemany``, each value bound as SQLAlchemy would.

Why not ``connection.execute(insert(table), rows)``: for every row SQLAlchemy builds a fresh
parameter set and runs each value through its type's bind processor one call at a time
(``construct_params``), some 4 to 6 us a row, about what SQLite itself takes to store it. A triage
batch writes about ten rows a notice (its message, its timeline event, a new case's checklist
steps), so here the INSERT is compiled once per dialect and column list, and the driver gets the
rows as the paramstyle wants them, converted by the same bind processors (JSON, aware UTC times).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table, insert

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Insert:
    sql: str
    names: tuple[str, ...]
    """The bound columns in the order the SQL names them."""
    processors: tuple[tuple[str, Processor], ...]
    """The columns whose type converts values on the way in, with the conversion."""
    positional: bool


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys, values as for ``connection.execute``) in one go."""
    if not rows:
        return
    statement = _compiled(connection.dialect, table, tuple(rows[0]))
    if statement.processors:
        rows = [_converted(row, statement.processors) for row in rows]
    if statement.positional:
        names = statement.names
        parameters: list[Any] = [tuple([row[name] for name in names]) for row in rows]
    else:
        parameters = list(rows)
    connection.exec_driver_sql(statement.sql, parameters)


def _converted(row: Mapping[str, Any], processors: tuple[tuple[str, Processor], ...]) -> dict[str, Any]:
    out = dict(row)
    for name, process in processors:
        out[name] = process(out[name])
    return out


@lru_cache(maxsize=64)
def _compiled(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Insert:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    positional = compiled.positiontup is not None
    names = tuple(compiled.positiontup) if compiled.positiontup is not None else keys
    if set(names) != set(keys):  # a column default or an expression would need SQLAlchemy's path
        raise ValueError(f"insert_rows: {table.name} binds {names}, rows have {keys}")
    processors = []
    for key in keys:
        column_type = table.c[key].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((key, process))
    return _Insert(str(compiled), names, tuple(processors), positional)
