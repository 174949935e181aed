"""``noticedesk demo``: the whole job on the embedded default, no AWS account needed.

Triage the bundled sample notices (their dates moved to today, demo/timeshift.py) into a fresh
demo database (``noticedesk-demo.db`` in the current folder, replaced on each run; the store of
real cases is never touched) and show the board; then, for the leaked-key case, diagnose and fix
a fake AWS account (moto, in this process) seeded with the problems the samples talk about; then
draft the English reply to AWS and the owner's summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path

import click
from rich.text import Text

from noticedesk.cases.queries import CaseSummary, list_cases
from noticedesk.cli import App, pass_app
from noticedesk.cli.cases import cases_command
from noticedesk.cli.diagnose import print_diagnosis
from noticedesk.cli.fix import print_report
from noticedesk.cli.wrap import for_terminal, wrap
from noticedesk.demo.fake_aws import DEMO_ROLE, diagnose_and_fix, fake_aws_available
from noticedesk.demo.timeshift import shift_for, shift_sample
from noticedesk.mail.readers import RawItem, read_sources
from noticedesk.printable import printable
from noticedesk.replies import draft_reply, owner_summary
from noticedesk.replies.formats import as_text
from noticedesk.triage import Triage

DEMO_DATABASE = Path("noticedesk-demo.db")
"""The demo's own SQLite file: a second run starts again from nothing instead of mixing two fake
accounts (each run seeds new resource ids) into one case."""


def fresh_demo_store(path: Path = DEMO_DATABASE) -> str:
    """Remove the previous demo database (and SQLite's side files); return the URL of a new one."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def sample_paths() -> list[str]:
    folder = resources.files("noticedesk.demo").joinpath("samples")
    return sorted(str(entry) for entry in folder.iterdir() if entry.name.endswith((".eml", ".json")))


def samples_told_at(now: datetime) -> Iterator[RawItem]:
    """The sample notices with their dates moved to ``now``: the same story on any day."""
    by = shift_for(now)
    for item in read_sources(sample_paths()):
        yield dataclasses.replace(item, raw=shift_sample(item.raw, by))


def _heading(app: App, text: str) -> None:
    app.console.rule(f"[bold]{text}[/bold]", align="left")


@click.command()
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default="ja",
    show_default=True,
    help="Language of the owner's summary.",
)
@click.option(
    "--aws/--no-aws",
    "with_aws",
    default=True,
    show_default=True,
    help="Diagnose and fix the fake AWS account (needs the 'demo' extra: moto).",
)
@click.pass_context
@pass_app
def demo(app: App, ctx: click.Context, lang: str, with_aws: bool) -> None:
    """Triage bundled sample notices, diagnose and fix a fake AWS account, draft the reply.

    Runs in its own fresh database, noticedesk-demo.db in the current folder (replaced on each run);
    the database of real cases (--db) is not touched.
    """
    demo_app = dataclasses.replace(app, db_url=fresh_demo_store(), _engine=None)
    ctx.obj = demo_app  # the board command invoked below reads the same demo database
    try:
        _run_demo(demo_app, ctx, lang, with_aws)
    finally:
        demo_app.close()
        ctx.obj = app


def _run_demo(app: App, ctx: click.Context, lang: str, with_aws: bool) -> None:
    now = app.now()
    _heading(app, "1. Triage: the sample notices become cases")
    results = list(Triage(app.engine, app.config, app.now).run(samples_told_at(now)))
    filed = sum(1 for result in results if result.case_id is not None)
    app.console.print(
        f"{len(results)} sample notices read into a fresh demo database, {DEMO_DATABASE} "
        f"(replaced on each run), {filed} filed as cases."
    )
    for result in results:
        notice = result.notice
        if notice is not None and result.case_id is None:
            why = (
                f"{result.source.rsplit('/', 1)[-1]} → {notice.kind.value}, "
                f"{notice.authenticity.value}: {'; '.join(notice.authenticity_reasons)}"
            )
            shown = wrap(printable(why), app.console.width, 4, "  not filed: ")
            app.console.print(Text(shown), soft_wrap=True)
    ctx.invoke(cases_command, as_json=False, include_resolved=False)
    leaked = _leaked_key_case(list_cases(app.engine))
    if leaked is None:
        return
    if with_aws and fake_aws_available():
        _heading(app, f"2. Diagnose and fix case {leaked.id} in a FAKE AWS account")
        app.console.print(
            f"moto runs in this process with account {leaked.account_id} seeded (reached by assuming "
            f"role {DEMO_ROLE}); no real AWS account is touched. The notice is not DKIM-verified, so "
            "the demo confirms it itself, and that override is recorded."
        )
        run = diagnose_and_fix(app.engine, app.config, leaked.id, now)
        print_diagnosis(app, run.diagnosis)
        print_report(app, run.report)
        app.console.print(
            "[dim]moto has no block-public-access API: those actions fail here "
            "and are recorded as failed, as on an account that denies them.[/dim]"
        )
    elif with_aws:
        app.console.print("\n[yellow]The fake AWS part needs moto: pip install 'noticedesk[demo]'.[/]")
    _heading(app, f"3. The reply to AWS for case {leaked.id} (a draft: NoticeDesk never sends it)")
    # Texts to copy out as they are: the terminal wraps them, Rich must not break their lines.
    draft = as_text(draft_reply(app.engine, leaked.id, now))
    app.console.print(draft, markup=False, highlight=False, soft_wrap=True)
    _heading(app, f"4. The owner's summary of case {leaked.id} ({lang})")
    summary = owner_summary(app.engine, leaked.id, "ja" if lang == "ja" else "en", now)
    if app.console.is_terminal:  # read on a terminal: wrapped by phrase; redirected: as it is, to copy
        summary = for_terminal(summary, app.console.width)
    app.console.print(summary, markup=False, highlight=False, soft_wrap=True)
    app.console.print(
        f"\nNext, on the demo database: noticedesk --db {app.db_url} cases "
        "(then case show ID, fix plan ID, reply ID --format eml)",
        style="dim",
        markup=False,
    )


def _leaked_key_case(board: list[CaseSummary]) -> CaseSummary | None:
    return next((case for case in board if case.kind == "account-compromised"), None)


COMMANDS = [demo]
