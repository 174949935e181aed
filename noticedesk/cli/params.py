"""Argument types shared by the commands, validated once where Click parses them."""

from __future__ import annotations

from typing import Any

import click

LARGEST_ROW_ID = 2**31 - 1
"""The largest id both stores hold (PostgreSQL `integer` keys; SQLite goes to 2**63 - 1)."""


class RowId(click.ParamType[int]):
    """A positive id that a store can hold: ``99999999999999999999999`` is a usage error (exit 2,
    one line), not an ``OverflowError`` from the driver."""

    name = "integer"

    def __init__(self, what: str) -> None:
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if not text.isdigit() or not text.isascii():
                self.fail(f"{self.what} {value!r} is not a number", param, ctx)
            number = int(text) if len(text) <= 12 else LARGEST_ROW_ID + 1
        if not 1 <= number <= LARGEST_ROW_ID:
            self.fail(f"no {self.what} {value}: ids run from 1 to {LARGEST_ROW_ID}", param, ctx)
        return number


CASE_ID = RowId("case id")
