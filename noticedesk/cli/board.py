"""The case board as a table that fits the terminal: 80 columns first, more when there is room.

Every layout keeps what identifies a case whole, on one line: its id, kind, account and AWS
reference, with the time left before the date. Narrow layouts name kinds and authenticity with
short labels and print a legend of those in use; ``--wide`` shows every column in full whatever
the width (lines longer than the terminal then wrap, as any long line does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from noticedesk.cases.queries import CaseSummary
from noticedesk.cli.render import time_left, urgency_style
from noticedesk.printable import printable

KIND_LABELS = {
    "account-compromised": "compro",
    "abuse-report": "abuse",
    "ses-vulnerable-site": "ses-vul",
    "ses-bounce": "ses-bnc",
    "ses-complaint": "ses-cpl",
    "ses-review": "ses-rev",
    "account-hold": "hold",
    "aws-other": "other",
    "not-aws": "not-aws",
}
"""Short kind labels for a narrow board (a legend names those on screen)."""

AUTHENTICITY_MARKS = {"verified": "✔", "unverified": "?", "suspicious": "!", "failed": "✘"}


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[CaseSummary], str | Text]
    identifies: bool = False
    """Never shortened or wrapped: without it the case cannot be told from the others."""
    justify: str = "left"


@dataclass(frozen=True)
class Layout:
    name: str
    columns: tuple[Column, ...]
    legend: frozenset[str] = frozenset()
    """What the legend under the board explains: short ``kind`` labels, ``auth`` marks."""
    gap: int = 2


_AUTH = frozenset({"auth"})
_BOTH = frozenset({"kind", "auth"})


def layouts(now: datetime, tz: tzinfo, named: bool = False) -> list[Layout]:
    """The layouts from widest to narrowest; the board uses the first that fits.

    ``named``: some case's account is in the registry (or flagged as not in it): the layouts with
    room for it show the account's name beside its id.
    """
    zone = now.astimezone(tz).strftime("%Z")

    def left(case: CaseSummary) -> Text:
        deadline = case.next_deadline
        return Text(time_left(deadline, now).replace("h ", "h"), style=urgency_style(deadline, now))

    def due(pattern: str) -> Callable[[CaseSummary], str]:
        return lambda case: case.next_deadline.astimezone(tz).strftime(pattern) if case.next_deadline else "-"

    number = Column("#", lambda case: str(case.id), identifies=True, justify="right")
    kind = Column("kind", lambda case: case.kind, identifies=True)
    short_kind = Column("kind", lambda case: KIND_LABELS.get(case.kind, case.kind), identifies=True)
    account = Column("account", lambda case: case.account_id or "-", identifies=True)
    ref = Column("ref", lambda case: case.case_ref or "-", identifies=True)
    stage = Column("stage", lambda case: case.stage)
    status = Column("status", lambda case: case.status)
    todo = Column("todo", lambda case: str(case.open_items), justify="right")
    authenticity = Column("authenticity", lambda case: case.authenticity)
    mark = Column("auth", lambda case: AUTHENTICITY_MARKS.get(case.authenticity, case.authenticity))
    time = Column("left", left)
    full_due = Column(f"due ({zone})", due("%Y-%m-%d %H:%M"))
    short_due = Column(f"due ({zone})", due("%m-%d %H:%M"))
    title = Column("title", lambda case: case.title)
    name = Column(
        "name", lambda case: case.account_name or ("unknown account" if case.unknown_account else "-")
    )
    names = (name,) if named else ()
    return [
        Layout(
            "wide",
            (number, time, full_due, kind, stage, status, account, *names, ref, todo, authenticity, title),
        ),
        Layout(
            "full", (number, time, full_due, kind, stage, status, account, *names, ref, todo, authenticity)
        ),
        Layout(
            "roomy", (number, time, short_due, kind, stage, status, account, *names, ref, todo, mark), _AUTH
        ),
        Layout(
            "medium", (number, time, short_due, short_kind, stage, status, account, ref, todo, mark), _BOTH
        ),
        Layout("narrow", (number, time, short_due, short_kind, stage, account, ref, mark), _BOTH, gap=1),
    ]


def _table(layout: Layout, board: Sequence[CaseSummary], title: str) -> Table:
    table = Table(
        title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, layout.gap - 1, 0, 0)
    )
    for column in layout.columns:
        table.add_column(
            column.header,
            justify="right" if column.justify == "right" else "left",
            no_wrap=column.identifies,
            overflow="fold" if column.identifies else "ellipsis",
        )
    for case in board:
        table.add_row(*(_cell(column.cell(case)) for column in layout.columns))
    return table


def _cell(value: str | Text) -> Text:
    """A cell as plain text: a reference or title from a mail is not Rich markup, nor a control code."""
    return value if isinstance(value, Text) else Text(printable(value))


def _legend(layout: Layout, board: Sequence[CaseSummary]) -> Text | None:
    if not layout.legend or not board:
        return None
    parts = []
    if "kind" in layout.legend:
        parts += [f"{KIND_LABELS.get(kind, kind)}={kind}" for kind in sorted({case.kind for case in board})]
    if "auth" in layout.legend:
        marks = sorted({case.authenticity for case in board})
        parts += [f"{AUTHENTICITY_MARKS.get(value, value)}={value}" for value in marks]
    return Text("  ".join(parts), style="dim")


def render_board(
    console: Console, board: Sequence[CaseSummary], title: str, now: datetime, tz: tzinfo, wide: bool
) -> tuple[RenderableType, int | None]:
    """The board and the width to print it at (``None``: the console's own)."""
    choices = layouts(now, tz, named=any(case.account_name or case.unknown_account for case in board))
    if wide:
        table = _table(choices[0], board, title)
        natural = Measurement.get(console, console.options.update(width=10_000), table).maximum
        return table, max(natural, console.width)
    for layout in choices[1:]:
        table = _table(layout, board, title)
        if Measurement.get(console, console.options.update(width=10_000), table).maximum <= console.width:
            break
    legend = _legend(layout, board)
    return (Group(table, legend) if legend is not None else table), None
