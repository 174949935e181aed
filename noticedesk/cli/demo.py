"""``noticedesk demo``: triage the bundled sample notices into the store and show the board."""

from __future__ import annotations

from importlib import resources

import click

from noticedesk.cases.queries import get_case, list_cases
from noticedesk.cases.triage import Triage
from noticedesk.cli import App, pass_app
from noticedesk.cli.cases import _print_case, cases_command
from noticedesk.mail.sources import read_sources


def sample_paths() -> list[str]:
    folder = resources.files("noticedesk.demo").joinpath("samples")
    return sorted(str(entry) for entry in folder.iterdir() if entry.name.endswith((".eml", ".json")))


@click.command()
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default="ja",
    show_default=True,
    help="Language of the case shown in full.",
)
@click.pass_context
@pass_app
def demo(app: App, ctx: click.Context, lang: str) -> None:
    """Triage the bundled sample notices (no AWS account needed) and print the case board."""
    results = list(Triage(app.engine, app.config, app.now).run(read_sources(sample_paths())))
    filed = sum(1 for result in results if result.case_id is not None)
    app.console.print(
        f"[bold]NoticeDesk demo[/bold]: {len(results)} sample notices read into "
        f"{app.db_url}, {filed} filed as cases.\n"
    )
    for result in results:
        notice = result.notice
        if notice is not None and result.case_id is None:
            app.console.print(
                f"  not filed: {result.source.rsplit('/', 1)[-1]} → {notice.kind.value}, "
                f"{notice.authenticity.value}: {'; '.join(notice.authenticity_reasons)}"
            )
    ctx.invoke(cases_command, as_json=False, include_resolved=False)
    board = list_cases(app.engine)
    if board:
        app.console.print("\n[bold]The most urgent case in full:[/bold]\n")
        _print_case(app, get_case(app.engine, board[0].id), lang)


COMMANDS = [demo]
