"""Bulk statements at driver level, for the hot paths (the SES feedback ingest, triage batches).

Plain tuples in, converted only where a column needs it (times, JSON, on the dialect's own
terms), run on the DBAPI cursor of the SQLAlchemy connection: inside its transaction, on SQLite
and PostgreSQL alike. Statements are built from table and column names only, never from values.
Why and what it saves: docs/performance.md; tests/test_bulk.py compares with SQLAlchemy's path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, LargeBinary, Table
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.sql.dml import Update, ValuesBase

from noticedesk.store.types import UtcDateTime, sqlite_text, utc_from_store

MAX_PARAMETERS = 30_000  # per statement: below SQLite's 32,766 and PostgreSQL's 65,535

Row = tuple[Any, ...]


@contextmanager
def driver_cursor(connection: Connection) -> Iterator[Any]:
    """A cursor of the connection's DBAPI connection: same transaction, no SQLAlchemy wrapping.

    The driver's refusals of a value come out as SQLAlchemy's (``DataError``, ``IntegrityError``),
    as they would through SQLAlchemy, so that callers catch one kind whatever the driver.
    """
    dbapi = connection.dialect.loaded_dbapi
    cursor = connection.connection.cursor()
    try:
        yield cursor
    except dbapi.DataError as error:
        raise DataError(None, None, error) from error
    except dbapi.IntegrityError as error:
        raise IntegrityError(None, None, error) from error
    finally:
        cursor.close()


def placeholder(connection: Connection) -> str:
    """The driver's parameter marker: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def _converters(connection: Connection, table: Table, columns: Sequence[str]) -> list[tuple[int, Any]]:
    """(position, bind function) of the columns whose values the driver cannot take as they are."""
    dialect = connection.dialect
    found = []
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, UtcDateTime):
            # Equal aware times are one instant, hence one stored value: a batch repeats a few
            # (its received time, the hour of many events), so each is converted once per call.
            process: Callable[[Any], Any] | None = _memoized(
                sqlite_text  # same text, several times cheaper
                if dialect.name == "sqlite"
                else column_type.dialect_impl(dialect).bind_processor(dialect)
            )
        elif isinstance(column_type, LargeBinary):
            process = None  # both drivers take bytes as they are (SQLAlchemy wraps them in a view)
        else:
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            found.append((index, process))
    return found


def _memoized(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    if process is None:
        return None
    memo: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        # A naive time never equals an aware one, so it still reaches ``process`` and is refused.
        converted = memo.get(value)
        if converted is None:
            converted = memo[value] = process(value)
        return converted

    return convert


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
    with driver_cursor(connection) as cursor:
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            sql = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([group] * len(chunk))} "
                f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            inserted.extend(row[0] for row in cursor.fetchall())
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
    with driver_cursor(connection) as cursor:
        cursor.executemany(sql, driver_rows(connection, table, columns, rows))


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
    with driver_cursor(connection) as cursor:
        for start in range(0, len(values), MAX_PARAMETERS):
            chunk = values[start : start + MAX_PARAMETERS]
            sql = (
                f"SELECT {', '.join(columns)} FROM {table.name} "
                f"WHERE {column} IN ({', '.join([mark] * len(chunk))}){f' AND {where}' if where else ''}"
            )
            cursor.execute(sql, list(chunk))
            for row in cursor.fetchall():
                if times:
                    read = list(row)
                    for index in times:
                        read[index] = _time(read[index])
                    row = tuple(read)
                found.append(tuple(row))
    return found


def _time(value: Any) -> datetime | None:
    return None if value is None else utc_from_store(value)


# --- BulkWriter: any compiled INSERT or UPDATE, bound as SQLAlchemy binds it ---------------

Processor = Callable[[Any], Any]


class JsonText(str):
    """A value already serialized by ``json_text``: a JSON column stores this text as it is."""


def _cached_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with its default arguments, the C encoder built once instead of per call.

    ``json.dumps`` builds a new C encoder (and its dict of ids for the circular-reference check)
    on every call: about a fifth of its time on a notice's facts. This is the same encoder with
    the same arguments, so the same text (tests hold it equal); without the circular check,
    which the fresh dicts and lists serialized here cannot need.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (not CPython): json.dumps as it is
        return json.dumps
    default = json.JSONEncoder().default
    encoder = make(None, default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
    return lambda value: "".join(encoder(value, 0))


_dumps = _cached_encoder()


def json_text(value: Any) -> JsonText:
    # The same text the engine's JSON columns write (``make_engine`` sets no serializer:
    # json.dumps), so the stored text is the same either way.
    return JsonText(_dumps(value))


def json_object_text(head: dict[str, Any], last_key: str, last_value: JsonText) -> JsonText:
    """``json_text({**head, last_key: value})`` when ``last_value`` is ``json_text(value)``."""
    opening = _dumps(head)
    separator = ", " if head else ""
    return JsonText(f"{opening[:-1]}{separator}{_dumps(last_key)}: {last_value}}}")


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
        parameters: list[Any]
        if not compiled.processors and compiled.order is None and compiled.positional:
            parameters = list(rows)  # as they are (a checklist item's row, say)
        else:
            # Converted column by column and put in the driver's order by one zip: no list and
            # tuple rebuilt per row and converter.
            values: list[Sequence[Any]] = list(zip(*rows, strict=True))
            if len(values) != len(columns):
                raise ValueError(f"BulkWriter: rows of {len(values)} values for {len(columns)} columns")
            for index, process, kind in compiled.processors:
                values[index] = list(map(self._converter(process, kind), values[index]))
            if not compiled.positional:
                parameters = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
            else:
                order = compiled.order or range(len(columns))
                parameters = list(zip(*[values[index] for index in order], strict=True))
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
        if isinstance(type_, UtcDateTime) and dialect.name == "sqlite":
            processors.append((index, _sqlite_time, "time"))  # same text, several times cheaper
            continue
        process = type_.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process, "json" if isinstance(type_, JSON) else ""))
    return _Compiled(str(compiled), order, tuple(processors), positional)


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else sqlite_text(value)
