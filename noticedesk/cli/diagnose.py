"""``noticedesk diagnose`` (read-only diagnosis of an AWS account) and ``noticedesk checks``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

from noticedesk.aws.checks.catalogue import CATALOGUE
from noticedesk.aws.diagnose import (
    Diagnosis,
    Progress,
    checks_for,
    run_diagnosis,
)
from noticedesk.aws.findings import Finding
from noticedesk.cases.queries import get_case
from noticedesk.cli import App, pass_app
from noticedesk.cli.params import CASE_ID
from noticedesk.cli.render import echo_json
from noticedesk.cli.wrap import wrap
from noticedesk.notices.model import Facts
from noticedesk.printable import printable
from noticedesk.remediation.diagnoses import store_diagnosis

FULL_LIST_LIMIT = 50
"""Beyond this many findings the terminal shows what needs a person, unless ``--all``."""


STATUS_STYLE = {"fail": "red", "warn": "magenta", "error": "yellow", "pass": "green"}


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@contextmanager
def _progress(app: App, show: bool) -> Iterator[Progress | None]:
    if not show:
        yield None
        return
    with RichProgress(console=app.console, transient=True) as bar:
        task = bar.add_task("reading AWS", total=None)
        yield lambda label, total: bar.update(task, total=total, advance=1, description=f"read {label}")


@click.command()
@click.argument("case_id", type=CASE_ID, required=False)
@click.option("--account", "account_id", help="Account to diagnose (default: the case's, else the caller's).")
@click.option(
    "--regions",
    help="Comma-separated regions (default: those registered for the account, else all it has enabled).",
)
@click.option("--checks", "check_ids", help="Comma-separated check ids (default: the case's kind, or all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON finding per line.")
@click.option("--profile", help="AWS profile for the base credentials.")
@click.option("--role-name", help="Role to assume in the account (for accounts other than the caller's).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    help="Parallel AWS reads ([diagnose] concurrency); with --all-accounts, accounts read at once (4).",
)
@click.option(
    "--all-accounts",
    is_flag=True,
    help="Every account of the registry, through its role: one summary table (accounts x failed checks).",
)
@click.option(
    "--only-failed/--all",
    "only_failed",
    default=None,
    help=f"Leave out what passed; errors one line per API (default beyond {FULL_LIST_LIMIT} findings).",
)
@pass_app
def diagnose(
    app: App,
    case_id: int | None,
    account_id: str | None,
    regions: str | None,
    check_ids: str | None,
    as_json: bool,
    profile: str | None,
    role_name: str | None,
    concurrency: int | None,
    all_accounts: bool,
    only_failed: bool | None,
) -> None:
    """Read an AWS account (read-only) and report what is wrong; findings are stored, on the case if any.

    With --all-accounts, every account of the registry ([[accounts]], `accounts add`) is read,
    --concurrency at once (4), each through --role-name, else its role_arn, else [diagnose]
    role_name; one that cannot be read is named with why and the others go on (exit 1 if any
    could not be read).
    """
    if all_accounts:
        if case_id is not None or account_id is not None:
            raise click.UsageError("--all-accounts reads every registered account: no CASE_ID or --account")
        from noticedesk.cli.diagnose_all import diagnose_all

        factory = app.clients(
            profile=profile, role_name=role_name, default_role=app.config.diagnose.role_name
        )
        checks = checks_for(None, Facts(), _split(check_ids) or None)
        diagnose_all(app, factory, checks, tuple(_split(regions)) or None, concurrency, as_json)
        return
    kind: str | None = None
    facts = Facts()
    if case_id is not None:
        case = get_case(app.engine, case_id)
        kind, facts = case.summary.kind, case.facts
        account_id = account_id or case.summary.account_id
    checks = checks_for(kind, facts, _split(check_ids) or None)
    factory = app.clients(profile=profile, role_name=role_name, default_role=app.config.diagnose.role_name)
    region_list = tuple(_split(regions)) or _registered_regions(app, account_id)
    show = app.console.is_terminal and not as_json
    with _progress(app, show) as progress:
        diagnosis = run_diagnosis(
            factory,
            checks,
            app.now(),
            account_id=account_id,
            regions=region_list,
            facts=facts,
            settings=app.config.diagnose,
            concurrency=concurrency,
            progress=progress,
        )
    store_diagnosis(app.engine, diagnosis, case_id, app.now())
    if as_json:
        for finding in diagnosis.findings:
            if not (only_failed and finding.status == "pass"):
                echo_json({**finding.to_json(), "run_id": diagnosis.run_id})
        return
    print_diagnosis(app, diagnosis, only_failed)


def error_lines(errors: list[Finding]) -> list[str]:
    """Findings that could not read, one line per API and kind of failure, most checks first:
    "48 checks could not read ec2:DescribeInstances in 12 regions (access-denied): …"."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in errors:
        key = (str(finding.data.get("api") or finding.check), str(finding.data.get("error_kind") or "error"))
        groups.setdefault(key, []).append(finding)
    lines = []
    for (api, kind), members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        checks = len(members)
        regions = sorted({str(f.data.get("error_region") or f.region or "global") for f in members})
        where = regions[0] if len(regions) == 1 else f"{len(regions)} regions"
        message = str(members[0].data.get("error") or members[0].detail)
        lines.append(
            f"{checks} check{'s' if checks != 1 else ''} could not read {api} in {where} ({kind}): {message}"
        )
    return lines


def _registered_regions(app: App, account_id: str | None) -> tuple[str, ...] | None:
    """The regions registered for the account (as `--all-accounts` reads them); None: every enabled one."""
    if account_id is None:
        return None
    from noticedesk.accounts.registry import find_account

    with app.engine.connect() as connection:
        account = find_account(connection, account_id)
    return account.regions if account is not None and account.regions else None


def print_diagnosis(app: App, diagnosis: Diagnosis, only_failed: bool | None = None) -> None:
    """One block a finding: status, severity, check, region and resource on a line (never cut),
    the check's sentence below it, wrapped to the terminal under a hanging indent.

    Condensed (``--only-failed``, or beyond ``FULL_LIST_LIMIT`` findings unless ``--all``): what
    passed is only counted, and what could not be read is one line per API."""
    counts = diagnosis.counts
    app.console.print(
        f"[bold]Diagnosis of {diagnosis.account_id} in {len(diagnosis.regions)} region(s): "
        f"{counts['fail']} fail, {counts['error']} error, {counts['pass']} pass[/bold]"
    )
    order = {"fail": 0, "warn": 1, "error": 2, "pass": 3}
    severity = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}

    def key(finding: Finding) -> tuple[int, int, str]:
        return order[finding.status], severity[finding.severity], finding.check

    findings = sorted(diagnosis.findings, key=key)
    condensed = only_failed if only_failed is not None else len(findings) > FULL_LIST_LIMIT
    errors = [finding for finding in findings if finding.status == "error"]
    if condensed:
        findings = [finding for finding in findings if finding.status in ("fail", "warn")]
    check_width = max((len(finding.check) for finding in findings), default=0)
    region_width = max((len(finding.region or "-") for finding in findings), default=0)
    for finding in findings:
        style = STATUS_STYLE[finding.status]
        head = Text()
        head.append(f"{finding.status:<5} ", style=style)
        region = finding.region or "-"
        head.append(
            printable(f"{finding.severity:<8} {finding.check:<{check_width}} {region:<{region_width}} ")
        )
        head.append(printable(finding.resource_id or "-"), style="bold")
        app.console.print(head)
        detail = wrap(printable(finding.detail), app.console.width, 6, "      ")
        app.console.print(Text(detail, style="dim" if finding.status == "pass" else ""), soft_wrap=True)
    if condensed:
        for line in error_lines(errors):
            app.console.print(
                Text(wrap(printable(f"error {line}"), app.console.width, 6, ""), style="yellow")
            )
        app.console.print(f"{counts['pass']} passed (not listed: --all lists every finding)", style="dim")
    app.console.print(
        f"run {diagnosis.run_id}: {diagnosis.calls} AWS calls in {diagnosis.seconds:.1f} s", style="dim"
    )


@click.command("checks")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per check, one per line.")
@pass_app
def checks_command(app: App, as_json: bool) -> None:
    """List the diagnosis checks with their severity, kinds and IAM permissions."""
    if as_json:
        for check in CATALOGUE:
            echo_json(
                {
                    "id": check.id,
                    "title": check.title,
                    "severity": check.severity,
                    "risk": check.risk,
                    "remediation": check.remediation,
                    "permissions": list(check.permissions),
                    "kinds": sorted(check.kinds) if check.kinds else None,
                    "needs_facts": check.needs_facts,
                }
            )
        return
    table = Table(title=f"{len(CATALOGUE)} diagnosis checks")
    for column in ("id", "severity", "title", "kinds", "permissions"):
        table.add_column(column, overflow="fold")
    for check in CATALOGUE:
        kinds = ", ".join(sorted(check.kinds)) if check.kinds else "all"
        if check.needs_facts:
            kinds += f" (needs {check.needs_facts})"
        table.add_row(check.id, check.severity, check.title, kinds, ", ".join(check.permissions))
    app.console.print(table)


COMMANDS = [diagnose, checks_command]
