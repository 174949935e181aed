"""``noticedesk diagnose --all-accounts``: the registry's accounts read at once, one summary table.

Rows are accounts (in the registry's order: by id), columns the checks that failed in any of them
(numbered, a legend below); a cell holds how many findings of that check failed there (a warning
counts too). An account that could not be read says so in its row, why on stderr, and the exit
code is 1.
"""

from __future__ import annotations

from rich import box
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

from noticedesk.accounts.registry import list_accounts
from noticedesk.aws.checks import Check
from noticedesk.aws.clients import ClientFactory
from noticedesk.cli import App
from noticedesk.cli.render import echo, echo_json
from noticedesk.cli.wrap import wrap
from noticedesk.errors import ConfigError
from noticedesk.printable import printable
from noticedesk.remediation.fleet import (
    DEFAULT_CONCURRENCY,
    AccountDiagnosis,
    diagnose_accounts,
)


def diagnose_all(
    app: App,
    factory: ClientFactory,
    checks: tuple[Check, ...],
    regions: tuple[str, ...] | None,
    concurrency: int | None,
    as_json: bool,
) -> None:
    with app.engine.connect() as connection:  # [[accounts]] brought in when the store was opened
        accounts = list_accounts(connection)
    if not accounts:
        raise ConfigError(
            "no account is registered: add [[accounts]] to the configuration or run `noticedesk accounts add`"
        )
    show = app.console.is_terminal and not as_json
    outcomes: list[AccountDiagnosis] = []
    with RichProgress(console=app.console, transient=True, disable=not show) as bar:
        task = bar.add_task("reading accounts", total=len(accounts))
        for outcome in diagnose_accounts(
            factory,
            accounts,
            checks,
            app.engine,
            app.now,
            settings=app.config.diagnose,
            concurrency=concurrency or DEFAULT_CONCURRENCY,
            regions=regions,
            done=lambda _outcome: bar.advance(task),
        ):
            outcomes.append(outcome)
            if as_json:
                echo_json(_as_json(outcome))
    unread = [outcome for outcome in outcomes if outcome.error is not None]
    if not as_json:
        table, legend = summary_table(outcomes)
        app.console.print(table)
        if legend:
            app.console.print(Text(wrap(legend, app.console.width, 0, ""), style="dim"))
    for outcome in unread:
        echo(f"error: account {outcome.account.account_id} not read: {outcome.error}", err=True)
    raise SystemExit(1 if unread else 0)


def _as_json(outcome: AccountDiagnosis) -> dict[str, object]:
    diagnosis = outcome.diagnosis
    return {
        "account_id": outcome.account.account_id,
        "name": outcome.account.name,
        "run_id": diagnosis.run_id if diagnosis else None,
        "regions": list(diagnosis.regions) if diagnosis else [],
        "counts": diagnosis.counts if diagnosis else None,
        "failed_checks": outcome.failed_checks,
        "error": outcome.error,
    }


def summary_table(outcomes: list[AccountDiagnosis]) -> tuple[Table, str]:
    """Accounts × failed checks (the count of failed findings per cell, blank where it passed),
    the checks numbered so that the matrix fits a terminal; and the legend of the numbers."""
    failed = [outcome.failed_checks for outcome in outcomes]
    columns = sorted({check for checks in failed for check in checks})
    read = sum(outcome.diagnosis is not None for outcome in outcomes)
    table = Table(
        title=f"{len(outcomes)} account(s): {read} read, {len(outcomes) - read} not read; "
        f"{len(columns)} check(s) failed somewhere",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("account", no_wrap=True)
    table.add_column("name", max_width=24, no_wrap=True, overflow="ellipsis")
    table.add_column("fail", justify="right", no_wrap=True)
    table.add_column("error", justify="right", no_wrap=True)
    for number in range(1, len(columns) + 1):
        table.add_column(str(number), justify="right", no_wrap=True)
    for outcome, checks in zip(outcomes, failed, strict=True):
        account = outcome.account
        if outcome.diagnosis is None:
            unread = Text("not read", style="yellow")
            table.add_row(account.account_id, printable(account.name), unread, "", *[""] * len(columns))
            continue
        counts = outcome.diagnosis.counts
        cells = [Text(str(checks[check]), style="red") if check in checks else "" for check in columns]
        table.add_row(
            account.account_id,
            printable(account.name),
            str(counts["fail"] + counts["warn"]),
            str(counts["error"]),
            *cells,
        )
    legend = "  ".join(f"{number}={check}" for number, check in enumerate(columns, start=1))
    return table, legend
