"""``noticedesk cases`` (the board) and ``noticedesk case show|check``."""

from __future__ import annotations

import getpass
from datetime import datetime

import click
from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text

from noticedesk.aws.findings import mask_key
from noticedesk.cases.queries import CaseDetail, TimelineEvent, check_item, get_case, list_cases
from noticedesk.cli import App, pass_app
from noticedesk.cli.board import render_board
from noticedesk.cli.params import CASE_ID
from noticedesk.cli.render import echo, echo_json, short_time, time_left, urgency_style
from noticedesk.cli.wrap import wrap
from noticedesk.printable import printable


@click.command("cases")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per case, one per line.")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved cases.")
@click.option("--wide", is_flag=True, help="Every column in full (title too), whatever the terminal's width.")
@pass_app
def cases_command(app: App, as_json: bool, include_resolved: bool, wide: bool = False) -> None:
    """The case board, nearest deadline first, with the time left."""
    now = app.now()
    board = list_cases(app.engine, include_resolved)
    if as_json:
        for case in board:
            echo_json(case.to_json(now))
        return
    title = f"{len(board)} open case(s)" if not include_resolved else f"{len(board)} case(s)"
    shown, width = render_board(app.console, board, title, now, app.tz, wide)
    if width is None:
        app.console.print(shown)
        return
    terminal = app.console.width
    app.console.width = width  # --wide: every column in full, the terminal wraps what is longer
    try:
        app.console.print(shown, crop=False)
    finally:
        app.console.width = terminal


@click.group("case")
def case_group() -> None:
    """One case: show it, tick its checklist."""


@case_group.command("show")
@click.argument("case_id", type=CASE_ID)
@click.option("--json", "as_json", is_flag=True, help="The whole case as one JSON object.")
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default="en",
    show_default=True,
    help="Language of the runbook and checklist.",
)
@pass_app
def show(app: App, case_id: int, as_json: bool, lang: str) -> None:
    """Facts, clocks, runbook checklist and timeline of one case."""
    detail = get_case(app.engine, case_id)
    if as_json:
        echo_json(detail.to_json(app.now()))
        return
    print_case(app, detail, lang)


def print_case(app: App, detail: CaseDetail, lang: str) -> None:
    console, now, case = app.console, app.now(), detail.summary
    console.print(
        f"[bold]Case #{case.id}[/bold]  {case.kind} · {case.stage} · {case.status}  "
        f"(authenticity: {case.authenticity})"
    )
    _paragraph(app, case.title, 2, "  ")
    console.print(f"  account {escape(case.account_label)}   reference {escape(case.case_ref or '-')}")
    _print_authenticity(app, detail, lang)
    words = _WORDS[lang]
    clocks = ((words["reply by"], case.reply_by), (words["AWS acts"], case.enforcement_at))
    label_cells = max(cell_len(label) for label, _ in clocks)  # 返信期限 takes 8 cells, not 4
    for label, value in clocks:
        padded = label + " " * (label_cells - cell_len(label))
        if value is None and label == words["AWS acts"] and detail.enforcement_undated.get(lang):
            _paragraph(
                app, detail.enforcement_undated[lang], label_cells + 4, f"  {padded}  "
            )  # no date of ours
            continue
        style = urgency_style(value, now)
        console.print(f"  {padded}  [{style}]{time_left(value, now):<16}[/] {short_time(value, app.tz)}")
    if detail.clock_note.get(lang):
        _paragraph(app, detail.clock_note[lang], 2, "  ", "dim")
    facts = {key: value for key, value in detail.facts.to_json().items() if value not in (None, [], "")}
    if "access_key_ids" in facts:  # output for people: recognisable, not usable
        facts["access_key_ids"] = [mask_key(key) for key in facts["access_key_ids"]]
    if facts:
        console.print(f"\n[bold]{words['Facts']}[/bold]")
        for key, value in facts.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            _paragraph(app, str(shown), 18, f"  {key:<15} ")
    for book in detail.runbooks:
        console.print(f"\n[bold]{book.title[lang]}[/bold]")
        _paragraph(app, book.cause[lang], 2, "  ")
        _paragraph(app, book.if_ignored[lang], 2, "  ", "yellow")
        for ref in book.references:
            _paragraph(
                app, f"{ref.title}: {ref.url_ja if lang == 'ja' and ref.url_ja else ref.url}", 4, "  → "
            )
    console.print(
        f"\n[bold]{words['Checklist']}[/bold]  ({words['tick with']}: noticedesk case check {case.id} ITEM)"
    )
    for item in detail.checklist:
        text = item.text_ja if lang == "ja" else item.text_en
        _paragraph(
            app, text, 4, f"  {'✔' if item.done_at else '☐'} {item.key}: ", "green" if item.done_at else ""
        )
    console.print(f"\n[bold]{words['Timeline']}[/bold]")
    for event in detail.timeline:
        sent = _sent_at(event)
        if sent is not None:  # a notice: when AWS sent it (the mail's Date), then when we read it
            triaged = f"{words['triaged']} {short_time(event.at, app.tz)}"
            line = f"{event.summary}  ({event.actor}; {triaged})"
            _paragraph(app, line, 4, f"  {short_time(sent, app.tz)}  {event.type:<16} ")
            continue
        line = f"{event.summary}  ({event.actor})"
        _paragraph(app, line, 4, f"  {short_time(event.at, app.tz)}  {event.type:<16} ")


def _paragraph(app: App, text: str, indent: int, first: str = "", style: str = "") -> None:
    """``text`` wrapped to the terminal (Japanese by phrase), continuation lines at ``indent``.

    Plain text, not markup: a subject or a reason from a mail is shown as it is, its control
    characters as escapes.
    """
    wrapped = wrap(printable(text), app.console.width, indent, printable(first))
    app.console.print(Text(wrapped, style=style), soft_wrap=True)


_WORDS = {
    "en": {
        "reply by": "reply by",
        "AWS acts": "AWS acts",
        "Facts": "Facts",
        "Checklist": "Checklist",
        "tick with": "tick with",
        "Timeline": "Timeline",
        "triaged": "triaged",
    },
    "ja": {
        "reply by": "返信期限",
        "AWS acts": "AWS の措置",
        "Facts": "通知から読み取った事実",
        "Checklist": "チェックリスト",
        "tick with": "完了したら",
        "Timeline": "タイムライン",
        "triaged": "取り込み",
    },
}
"""The headings of ``case show`` per language (the runbook and checklist texts come with theirs)."""


def _sent_at(event: TimelineEvent) -> datetime | None:
    """When AWS sent a notice (the mail's Date, or the forwarded original's), if the event is one."""
    if event.type != "notice-received":
        return None
    try:
        return datetime.fromisoformat(str(event.detail["sent_at"]))
    except (KeyError, ValueError):
        return None


def _print_authenticity(app: App, detail: CaseDetail, lang: str) -> None:
    """Why each message of the case is (not) believed to come from AWS."""
    for message in detail.message_verdicts:
        shown = message.subject or message.message_id or ""
        _paragraph(app, shown, 4, f"  {message.authenticity or '-'}  ")
        for reason in message.reasons:
            _paragraph(app, reason.get(lang) or reason.get("en", ""), 6, "    · ")


@case_group.command("check")
@click.argument("case_id", type=CASE_ID)
@click.argument("item")
@click.option("--undo", is_flag=True, help="Mark the item as not done again.")
@click.option("--by", "actor", default=None, help="Who did it (default: the current user).")
@pass_app
def check(app: App, case_id: int, item: str, undo: bool, actor: str | None) -> None:
    """Tick checklist ITEM of a case (its key, as `case show` lists it)."""
    who = actor or getpass.getuser()
    done = check_item(app.engine, case_id, item, who, app.now(), done=not undo)
    echo(f"case {case_id}: {done.key} {'done' if done.done_at else 'reopened'} by {who}")


def _add_subcommands() -> None:
    from noticedesk.cli.verify import verify

    case_group.add_command(verify)


_add_subcommands()
COMMANDS = [cases_command, case_group]
