"""BulkWriter stores exactly what SQLAlchemy's own executemany stores, on both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, Text, bindparam, cast, insert, select, update
from sqlalchemy.dialects import sqlite

from noticedesk.store.bulk import BulkWriter, json_object_text, json_text
from noticedesk.store.tables import case_events, cases
from noticedesk.store.types import UtcDateTime, sqlite_text

JST = timezone(timedelta(hours=9))
OPENED = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=JST)
COLUMNS = ("case_key", "account_id", "kind", "case_ref", "stage", "status", "title", "authenticity")
TIMES = ("facts", "reply_by", "enforcement_at", "last_notice_at", "opened_at", "updated_at")
FACTS = {"account_id": "111122223333", "ports": [22, 80], "bounce_rate": 12.5, "note": "é 日本", "x": None}


def _rows() -> list[tuple[Any, ...]]:
    return [
        ("k1", "111122223333", "abuse-report", "1-1", "notice", "new", "t", "verified",
         FACTS, OPENED, None, OPENED.astimezone(UTC), OPENED, OPENED),
        ("k2", None, "ses-bounce", None, "notice", "new", "", "unverified",
         {}, datetime(2026, 1, 1, tzinfo=UTC), OPENED, None, OPENED, OPENED + timedelta(microseconds=1)),
    ]  # fmt: skip


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    """Each row as SQLAlchemy reads it back, and as the database holds it (text)."""
    columns = [cases.c[name] for name in COLUMNS + TIMES]
    with engine.connect() as connection:
        read = connection.execute(select(*columns).order_by(cases.c.case_key)).all()
        raw = connection.execute(
            select(*(cast(column, Text) for column in columns)).order_by(cases.c.case_key)
        ).all()
    return [tuple(row) for row in read] + [tuple(row) for row in raw]


def _clear(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(cases.delete())


def test_rows_are_stored_as_sqlalchemy_stores_them(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(cases), [dict(zip(COLUMNS + TIMES, row, strict=True)) for row in _rows()])
    expected = _stored(engine)
    _clear(engine)
    with engine.begin() as connection:
        BulkWriter(connection).execute(insert(cases), COLUMNS + TIMES, _rows())
    assert _stored(engine) == expected
    _clear(engine)
    # the same facts already serialized, and the columns in another order than the table's
    order = tuple(reversed(COLUMNS + TIMES))
    rows = [tuple(reversed((*row[:8], json_text(row[8]), *row[9:]))) for row in _rows()]
    with engine.begin() as connection:
        BulkWriter(connection).execute(insert(cases), order, rows)
    assert _stored(engine) == expected


def test_an_update_binds_its_parameters_too(engine: Engine) -> None:
    with engine.begin() as connection:
        BulkWriter(connection).execute(insert(cases), COLUMNS + TIMES, _rows())
        ids = dict(connection.execute(select(cases.c.case_key, cases.c.id)).all())
        statement = update(cases).where(cases.c.id == bindparam("case_id"))
        BulkWriter(connection).execute(
            statement,
            ("facts", "reply_by", "case_id"),
            [(json_text({"a": 1}), OPENED, ids["k1"]), ({"b": [2]}, None, ids["k2"])],
        )
        stored = connection.execute(
            select(cases.c.case_key, cases.c.facts, cases.c.reply_by).order_by(cases.c.case_key)
        ).all()
    assert [tuple(row) for row in stored] == [("k1", {"a": 1}, OPENED), ("k2", {"b": [2]}, None)]


def test_a_naive_time_is_refused_even_after_an_equal_aware_one(engine: Engine) -> None:
    row = _rows()[0]
    naive = (*row[:-1], OPENED.astimezone(UTC).replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive datetime"), engine.begin() as connection:
        BulkWriter(connection).execute(insert(cases), COLUMNS + TIMES, [row, naive])


def test_a_column_left_to_its_default_is_refused(engine: Engine) -> None:
    # `title` has a Python-side default, which only SQLAlchemy's own path would fill in
    columns = tuple(name for name in COLUMNS + TIMES if name != "title")
    row = tuple(value for name, value in zip(COLUMNS + TIMES, _rows()[0], strict=True) if name != "title")
    with pytest.raises(ValueError, match="binds"), engine.begin() as connection:
        BulkWriter(connection).execute(insert(cases), columns, [row])


def test_nothing_to_write_runs_nothing(engine: Engine) -> None:
    with engine.begin() as connection:
        BulkWriter(connection).execute(insert(case_events), ("case_id",), [])
        assert connection.execute(select(case_events)).all() == []


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=8,
)


@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
        max_leaves=12,
    )
)
def test_json_text_is_json_dumps(value: Any) -> None:
    # json_text reuses one C encoder: the text must stay json.dumps's, NaN and infinities too.
    assert json_text(value) == json.dumps(value)


@given(head=st.dictionaries(st.text(), _json, max_size=4), key=st.text(), value=_json)
def test_json_object_text_is_json_dumps(head: dict[str, Any], key: str, value: Any) -> None:
    head.pop(key, None)  # the last key is a new one, as in a timeline event's detail
    assert json_object_text(head, key, json_text(value)) == json.dumps({**head, key: value})


@given(
    moment=st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    offset=st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ),
)
def test_the_fast_sqlite_time_is_sqlalchemys(moment: datetime, offset: timedelta) -> None:
    dialect = sqlite.dialect()
    aware = moment.replace(tzinfo=timezone(offset))
    expected = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert expected is not None
    assert sqlite_text(aware) == expected(aware)
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_text(moment)
