"""Bulk statements at driver level, for the hot paths (the SES feedback ingest).

SQLAlchemy's executemany runs every column's bind processor on every row in Python and, for
RETURNING, renders its own multi-row batches: on a million-row import that costs several times
what the database itself spends. These helpers take plain tuples, convert only the columns
that need it (times, JSON, on the dialect's own terms) and run through ``exec_driver_sql``:
still on the SQLAlchemy connection, inside its transaction, on SQLite and PostgreSQL alike.
Statements are built from table and column names only, never from values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table

from noticedesk.store.types import UtcDateTime, sqlite_text, utc_from_store

MAX_PARAMETERS = 30_000  # per statement: below SQLite's 32,766 and PostgreSQL's 65,535

Row = tuple[Any, ...]


def placeholder(connection: Connection) -> str:
    """The driver's parameter marker: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def _converters(connection: Connection, table: Table, columns: Sequence[str]) -> list[tuple[int, Any]]:
    """(position, bind function) of the columns whose values the driver cannot take as they are."""
    dialect = connection.dialect
    found = []
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, UtcDateTime) and dialect.name == "sqlite":
            process: Callable[[Any], Any] | None = sqlite_text  # same text, several times cheaper
        else:
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            found.append((index, process))
    return found


def driver_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Row]
) -> list[Row]:
    """Rows of Python values → rows the DBAPI driver takes (what the column types would bind)."""
    converters = _converters(connection, table, columns)
    if not converters:
        return list(rows)
    converted = []
    for row in rows:
        values = list(row)
        for index, process in converters:
            if values[index] is not None:
                values[index] = process(values[index])
        converted.append(tuple(values))
    return converted


def insert_new(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row], key: str
) -> list[Any]:
    """Insert the rows whose ``key`` is not taken yet; return the keys actually inserted.

    Multi-row ``INSERT … ON CONFLICT (key) DO NOTHING RETURNING key``: one statement per
    ``MAX_PARAMETERS`` values, and the database tells which rows were new.
    """
    if not rows:
        return []
    mark = placeholder(connection)
    group = "(" + ", ".join([mark] * len(columns)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    values = driver_rows(connection, table, columns, rows)
    inserted: list[Any] = []
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([group] * len(chunk))} "
            f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
        )
        parameters = tuple(value for row in chunk for value in row)
        inserted.extend(row[0] for row in connection.exec_driver_sql(sql, parameters))
    return inserted


def upsert(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    key: str,
    assignments: dict[str, str],
) -> None:
    """``INSERT … ON CONFLICT (key) DO UPDATE SET column = expression`` for every row (executemany).

    ``assignments`` maps a column to SQL over ``excluded.<column>`` and ``<table>.<column>``.
    """
    if not rows:
        return
    mark = placeholder(connection)
    updates = ", ".join(f"{name} = {expression}" for name, expression in assignments.items())
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
    connection.exec_driver_sql(sql, driver_rows(connection, table, columns, rows))


def select_in(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    column: str,
    values: Sequence[Any],
    where: str = "",
) -> list[Row]:
    """``SELECT columns FROM table WHERE column IN (values) [AND where]``, times read back as aware UTC.

    ``where`` is fixed SQL text (no parameters); values are sent as parameters.
    """
    if not values:
        return []
    mark = placeholder(connection)
    times = [index for index, name in enumerate(columns) if isinstance(table.c[name].type, UtcDateTime)]
    found: list[Row] = []
    per_statement = MAX_PARAMETERS
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        sql = (
            f"SELECT {', '.join(columns)} FROM {table.name} "
            f"WHERE {column} IN ({', '.join([mark] * len(chunk))}){f' AND {where}' if where else ''}"
        )
        for row in connection.exec_driver_sql(sql, tuple(chunk)):
            if times:
                values_read = list(row)
                for index in times:
                    values_read[index] = _time(values_read[index])
                found.append(tuple(values_read))
            else:
                found.append(tuple(row))
    return found


def _time(value: Any) -> datetime | None:
    return None if value is None else utc_from_store(value)
