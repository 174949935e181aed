"""``noticedesk triage``: read mails and Health events, file them as cases."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from noticedesk.cases.triage import Triage, TriageResult
from noticedesk.cli import App, pass_app
from noticedesk.cli.explain import explanation
from noticedesk.cli.progress import progress
from noticedesk.cli.render import echo, echo_json, short_time
from noticedesk.mail.sources import read_sources


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message, one per line.")
@click.option(
    "--explain",
    is_flag=True,
    help="Say which cues decided kind, stage and abuse types, with their weights; store nothing.",
)
@pass_app
def triage(app: App, paths: tuple[str, ...], as_json: bool, explain: bool) -> None:
    """Read .eml files, mbox files, Maildir folders, AWS Health JSON or - (stdin), and file cases.

    Exit 0 when every input was read, 1 when some could not be (each is named on stderr and its
    raw bytes are kept in the store). With --explain, each input is read the same way and the
    cues behind its reading are printed (with --json: the objects, "evidence" included); nothing
    is stored.
    """
    if explain:
        sources = read_sources(paths, max_bytes=app.config.input.max_message_bytes)
        unread = sum(
            _explain(result, as_json) for result in Triage(app.engine, app.config, app.now).explain(sources)
        )
        raise SystemExit(1 if unread else 0)
    run = Triage(app.engine, app.config, app.now)
    failures = 0
    filed: set[int] = set()
    rows: list[TriageResult] = []
    show = app.console.is_terminal and not as_json
    with progress(app.console, show, "messages read") as advance:
        for result in run.run(read_sources(paths, max_bytes=app.config.input.max_message_bytes)):
            if result.case_id is not None:
                filed.add(result.case_id)
            advance(note=f"{len(filed)} case(s) filed")
            failures += _report(app, result, as_json, rows)
    if not as_json:
        _table(app, rows)
    raise SystemExit(1 if failures else 0)


def _explain(result: TriageResult, as_json: bool) -> int:
    """Print why one input reads as it does (or its JSON line); 1 if it could not be read."""
    if result.skipped:
        echo(f"warning: {result.source}: {result.warnings[0]}", err=True)
        return 0
    for warning in result.warnings:
        echo(f"warning: {result.source}: {warning}", err=True)
    if as_json:
        echo_json(result.to_json())
    else:
        echo("\n".join(explanation(result)) + "\n")
    return 1 if result.error else 0


def _report(app: App, result: TriageResult, as_json: bool, rows: list[TriageResult]) -> int:
    """Print one result's problems (and its JSON line, or keep it for the table); 1 if unreadable."""
    if result.skipped:
        echo(f"warning: {result.source}: {result.warnings[0]}", err=True)
        return 0
    if result.error:
        where = result.source if result.index is None else f"{result.source} [message {result.index}]"
        echo(f"error: {where}: {result.error}", err=True)
    for warning in result.warnings:
        echo(f"warning: {result.source}: {warning}", err=True)
    if as_json:
        echo_json(result.to_json())
    else:
        rows.append(result)
    return 1 if result.error else 0


def _table(app: App, rows: list[TriageResult]) -> None:
    table = Table(title=f"{len(rows)} message(s) triaged", show_lines=False)
    table.add_column("source", overflow="fold")  # which file: never cut, folded when long
    for column in ("kind", "stage", "authenticity", "account", "reply by", "case"):
        table.add_column(column)
    for result in rows:
        notice = result.notice
        source = result.source if result.index is None else f"{result.source}#{result.index}"
        if notice is None:
            table.add_row(
                escape(source), f"[red]unreadable: {escape(result.error or '')}[/red]", "", "", "", "", ""
            )
            continue
        verdict = notice.authenticity.value
        verdict_style = {"suspicious": "bold red", "failed": "red", "verified": "green"}.get(verdict, "")
        case = (
            "-" if result.case_id is None else f"#{result.case_id}" + (" (dup)" if result.duplicate else "")
        )
        table.add_row(
            escape(source),
            notice.kind.value,
            notice.stage.value,
            f"[{verdict_style}]{verdict}[/]" if verdict_style else verdict,
            notice.facts.account_id or "-",
            short_time(result.clocks.reply_by if result.clocks else None, app.tz),
            case,
        )
    app.console.print(table)


COMMANDS = [triage]
