"""``noticedesk triage``: read mails and Health events, file them as cases."""

from __future__ import annotations

import click
from rich import box
from rich.table import Table
from rich.text import Text

from noticedesk.cli import App, pass_app
from noticedesk.cli.board import AUTHENTICITY_MARKS, KIND_LABELS
from noticedesk.cli.explain import explanation
from noticedesk.cli.progress import progress
from noticedesk.cli.render import echo, echo_json
from noticedesk.mail.readers import read_sources
from noticedesk.printable import printable
from noticedesk.procpool import available_cores
from noticedesk.triage import Triage, TriageResult


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message, one per line.")
@click.option(
    "--explain",
    is_flag=True,
    help="Say which cues decided kind, stage and abuse types, with their weights; store nothing.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=available_cores,
    show_default="the number of cores",
    help="Processes that read inputs (parse, authenticate, classify); one files them, in order.",
)
@pass_app
def triage(app: App, paths: tuple[str, ...], as_json: bool, explain: bool, jobs: int) -> None:
    """Read .eml files, mbox files, Maildir folders, AWS Health JSON or - (stdin), and file cases.

    Exit 0 when every input was read, 1 when some could not be (each is named on stderr and its
    raw bytes are kept in the store). With --explain, each input is read the same way and the
    cues behind its reading are printed (with --json: the objects, "evidence" included); nothing
    is stored. With --jobs N (default: the number of cores), N processes read the inputs while
    this one files them: the same results, in the same order, as --jobs 1.
    """
    if explain:
        sources = read_sources(paths, max_bytes=app.config.input.max_message_bytes)
        unread = sum(
            _explain(result, as_json) for result in Triage(app.engine, app.config, app.now).explain(sources)
        )
        raise SystemExit(1 if unread else 0)
    run = Triage(app.engine, app.config, app.now, jobs=jobs)
    failures = 0
    filed: set[int] = set()
    rows: list[TriageResult] = []
    show = app.console.is_terminal and not as_json
    # Started before the progress bar's thread: the reading processes fork here.
    results = run.run(read_sources(paths, max_bytes=app.config.input.max_message_bytes))
    with progress(app.console, show, "messages read") as advance:
        for result in results:
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
    """One row a message; below 120 columns, short kind labels and authenticity marks (with a
    legend) so that kind, account and case stay whole; a long source path is folded, never cut."""
    narrow = app.console.width < 120
    zone = app.now().astimezone(app.tz).strftime("%Z")
    table = Table(
        title=f"{len(rows)} message(s) triaged", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    table.add_column("source", overflow="fold", ratio=1)
    for column in ("kind", "stage", "auth" if narrow else "authenticity", "account"):
        table.add_column(column, no_wrap=column in ("kind", "account"))
    table.add_column(f"reply by ({zone})", no_wrap=True)
    table.add_column("case", no_wrap=True)
    shown: set[str] = set()
    for result in rows:
        notice = result.notice
        source = result.source if result.index is None else f"{result.source}#{result.index}"
        if notice is None:
            unreadable = Text(printable(source)).append(
                printable(f"\nunreadable: {result.error or ''}"), "red"
            )
            table.add_row(unreadable, "-", "", "", "", "", "")
            continue
        verdict = notice.authenticity.value
        verdict_style = {"suspicious": "bold red", "failed": "red", "verified": "green"}.get(verdict, "")
        case = (
            "-" if result.case_id is None else f"#{result.case_id}" + (" (dup)" if result.duplicate else "")
        )
        kind = notice.kind.value
        shown.update((kind, verdict))
        reply_by = result.clocks.reply_by if result.clocks else None
        table.add_row(
            Text(printable(source)),
            KIND_LABELS.get(kind, kind) if narrow else kind,
            notice.stage.value,
            Text(AUTHENTICITY_MARKS.get(verdict, verdict) if narrow else verdict, style=verdict_style),
            notice.facts.account_id or "-",
            reply_by.astimezone(app.tz).strftime("%m-%d %H:%M" if narrow else "%Y-%m-%d %H:%M")
            if reply_by
            else "-",
            case,
        )
    app.console.print(table)
    if narrow and shown:
        labels = {**KIND_LABELS, **AUTHENTICITY_MARKS}
        legend = "  ".join(f"{labels[value]}={value}" for value in sorted(shown) if value in labels)
        app.console.print(Text(legend, style="dim"))


COMMANDS = [triage]
