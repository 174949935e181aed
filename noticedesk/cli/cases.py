"""``noticedesk cases`` (the board) and ``noticedesk case show|check``."""

from __future__ import annotations

import getpass

import click
from rich.markup import escape
from rich.table import Table

from noticedesk.aws.findings import mask_key
from noticedesk.cases.queries import CaseDetail, check_item, get_case, list_cases
from noticedesk.cli import App, pass_app
from noticedesk.cli.params import CASE_ID
from noticedesk.cli.render import echo, echo_json, short_time, time_left, urgency_style


@click.command("cases")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per case, one per line.")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved cases.")
@pass_app
def cases_command(app: App, as_json: bool, include_resolved: bool) -> None:
    """The case board, nearest deadline first, with the time left."""
    now = app.now()
    board = list_cases(app.engine, include_resolved)
    if as_json:
        for case in board:
            echo_json(case.to_json(now))
        return
    table = Table(title=f"{len(board)} open case(s)" if not include_resolved else f"{len(board)} case(s)")
    for column in (
        "id",
        "kind",
        "stage",
        "status",
        "account",
        "ref",
        "next deadline",
        "left",
        "todo",
        "authenticity",
    ):
        table.add_column(column)
    for case in board:
        deadline = case.next_deadline
        style = urgency_style(deadline, now)
        table.add_row(
            str(case.id),
            case.kind,
            case.stage,
            case.status,
            case.account_id or "-",
            escape(case.case_ref or "-"),
            short_time(deadline),
            f"[{style}]{time_left(deadline, now)}[/]",
            str(case.open_items),
            case.authenticity,
        )
    app.console.print(table)


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
    console.print(f"  {escape(case.title)}")
    console.print(f"  account {case.account_id or '-'}   reference {escape(case.case_ref or '-')}")
    _print_authenticity(app, detail, lang)
    for label, value in (("reply by", case.reply_by), ("AWS acts", case.enforcement_at)):
        if value is None and label == "AWS acts" and detail.enforcement_undated.get(lang):
            console.print(f"  {label:<9} {detail.enforcement_undated[lang]}")  # no date of our own
            continue
        style = urgency_style(value, now)
        console.print(f"  {label:<9} {short_time(value)}  [{style}]{time_left(value, now)}[/]")
    if detail.clock_note.get(lang):
        console.print(f"  [dim]{detail.clock_note[lang]}[/dim]")
    facts = {key: value for key, value in detail.facts.to_json().items() if value not in (None, [], "")}
    if "access_key_ids" in facts:  # output for people: recognisable, not usable
        facts["access_key_ids"] = [mask_key(key) for key in facts["access_key_ids"]]
    if facts:
        console.print("\n[bold]Facts[/bold]")
        for key, value in facts.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            console.print(f"  {key:<15} {escape(str(shown))}")
    for book in detail.runbooks:
        console.print(f"\n[bold]{book.title[lang]}[/bold]")
        console.print(f"  {book.cause[lang]}")
        console.print(f"  [yellow]{book.if_ignored[lang]}[/yellow]")
        for ref in book.references:
            console.print(f"  → {ref.title}: {ref.url_ja if lang == 'ja' and ref.url_ja else ref.url}")
    console.print(f"\n[bold]Checklist[/bold]  (tick with: noticedesk case check {case.id} ITEM)")
    for item in detail.checklist:
        mark = "[green]✔[/green]" if item.done_at else "☐"
        text = item.text_ja if lang == "ja" else item.text_en
        console.print(f"  {mark} {item.key}: {text}")
    console.print("\n[bold]Timeline[/bold]")
    for event in detail.timeline:
        summary, actor = escape(event.summary), escape(event.actor)
        console.print(f"  {short_time(event.at)}  {event.type:<16} {summary}  [dim]({actor})[/dim]")


def _print_authenticity(app: App, detail: CaseDetail, lang: str) -> None:
    """Why each message of the case is (not) believed to come from AWS."""
    for message in detail.message_verdicts:
        shown = escape(message.subject or message.message_id or "")
        app.console.print(f"  [bold]{message.authenticity or '-'}[/bold]  {shown}")
        for reason in message.reasons:
            app.console.print(f"    · {reason.get(lang) or reason.get('en', '')}", markup=False)


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
