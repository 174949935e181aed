"""``noticedesk fix plan|apply|undo`` and ``noticedesk actions`` (the policy is ``policy fix``)."""

from __future__ import annotations

import getpass

import click
from rich.table import Table
from rich.text import Text

from noticedesk.aws.actions import ACTIONS, mask_secrets
from noticedesk.aws.actions.base import Call
from noticedesk.cli import App, pass_app
from noticedesk.cli.params import CASE_ID
from noticedesk.cli.progress import progress
from noticedesk.cli.render import echo_json
from noticedesk.cli.wrap import wrap
from noticedesk.printable import printable
from noticedesk.remediation.audit import ActionRecord
from noticedesk.remediation.runner import ApplyRequest, Remediation, RunReport


def _remediation(app: App, profile: str | None = None, role_name: str | None = None) -> Remediation:
    """The runner, acting as ``--role-name`` (else the account's registered role, else ``[fixes]
    role_name``) in the case's account."""
    clients = app.clients(profile=profile, role_name=role_name, default_role=app.config.fixes.role_name)
    return Remediation(app.engine, clients, app.config.fixes, app.now, reveal=_reveal)


_PROFILE = click.option("--profile", help="AWS profile for the base credentials.")
_ROLE_NAME = click.option(
    "--role-name", help="Role to assume in the case's account ([fixes] role_name; default: own credentials)."
)


def _reveal(label: str, secret: str) -> None:
    """The one place a new secret is shown: the terminal (stderr), once; it is stored nowhere."""
    click.echo(f"  {label}: {secret}   ← shown once, store it now", err=True)


def _calls(calls: tuple[Call, ...]) -> str:
    return "\n".join(str(mask_secrets(call.describe())) for call in calls) or "-"


def _operations(calls: tuple[Call, ...]) -> str:
    """The table shows operations; `--json` has every parameter."""
    return "\n".join(f"{call.service}.{call.operation}" for call in calls) or "-"


def _print_records(app: App, title: str, records: list[ActionRecord], calls: bool = True) -> None:
    """One block an action: id, action, resource, region and status on a line (never cut), then
    the calls and their undo, wrapped under a hanging indent; a failed action's error below."""
    app.console.print(f"[bold]{title}[/bold]")
    id_width = max((len(record.id) for record in records), default=0)
    action_width = min(max((len(record.plan.action) for record in records), default=0), 26)
    indent = id_width + 4
    for record in records:
        plan = record.plan
        status = record.shown_status + ("" if plan.default else " (optional)")
        if record.verified:
            status += " ✔ verified"
        resource = mask_secrets(plan.resource_id)
        _wrapped(
            app,
            f"{record.id:<{id_width}}  {plan.action:<{action_width}}  {resource}  {plan.region or 'global'}",
            indent,
            "bold",
            2,
        )
        if calls:
            undo = _operations(plan.undo).replace("\n", ", ") if plan.undo else plan.undo_note
            line = f"{status} · calls {_operations(plan.calls).replace(chr(10), ', ')} · undo {undo}"
        else:
            line = f"{status} · undo {'yes' if plan.undo else 'none (irreversible)'}"
        _wrapped(app, line, indent, "")
        if record.error:
            _wrapped(app, f"{record.shown_status}: {mask_secrets(record.error)}", indent, "red")


def _wrapped(app: App, text: str, indent: int, style: str, first: int | None = None) -> None:
    shown = wrap(printable(text), app.console.width, indent, " " * (indent if first is None else first))
    app.console.print(Text(shown, style=style), soft_wrap=True)


@click.group("fix")
def fix_group() -> None:
    """Plan, apply and undo fixes for a case (dry run unless --yes)."""


@fix_group.command("plan")
@click.argument("case_id", type=CASE_ID)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per proposed action, one per line.")
@pass_app
def plan(app: App, case_id: int, as_json: bool) -> None:
    """List the actions the case's latest diagnosis calls for: exact API calls, resource, undo."""
    records = _remediation(app).plan(case_id)
    if as_json:
        for record in records:
            echo_json(record.to_json())
        return
    _print_plan(app, case_id, records)


def _print_plan(app: App, case_id: int, records: list[ActionRecord]) -> None:
    """What `fix apply --yes` does in full; the optional actions and the refusals in short."""
    defaults = [r for r in records if r.plan.default and r.status != "refused"]
    optional = [r for r in records if not r.plan.default and r.status != "refused"]
    refused = [r for r in records if r.status == "refused"]
    _print_records(
        app, f"Case {case_id}: {len(defaults)} action(s) `fix apply {case_id} --yes` runs", defaults
    )
    if optional:
        _print_records(
            app, f"{len(optional)} optional action(s): name them with --action ID", optional, False
        )
    for record in refused:
        where = mask_secrets(record.plan.resource_id)
        app.console.print(
            Text("refused", style="yellow").append(
                printable(f" {record.id} {record.action} on {where}: {record.error}"), style=""
            )
        )
    app.console.print(f"Nothing was changed. Details of every action: noticedesk fix plan {case_id} --json")


@fix_group.command("apply")
@click.argument("case_id", type=CASE_ID)
@click.option("--action", "action_ids", multiple=True, help="Only this action id (repeatable).")
@click.option("--yes", "confirmed", is_flag=True, help="Really apply; without it nothing is called.")
@click.option(
    "--i-have-verified-this-notice",
    "verified_override",
    is_flag=True,
    help="Apply although the notice is not verified (recorded with your name).",
)
@click.option("--keep-going", is_flag=True, help="Go on after a failed action.")
@click.option("--by", "actor", default=None, help="Who applies (default: the current user).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per action, one per line.")
@_PROFILE
@_ROLE_NAME
@pass_app
def apply(
    app: App,
    case_id: int,
    action_ids: tuple[str, ...],
    confirmed: bool,
    verified_override: bool,
    keep_going: bool,
    actor: str | None,
    as_json: bool,
    profile: str | None,
    role_name: str | None,
) -> None:
    """Apply the case's default actions (or those named) through the guarded runner."""
    request = ApplyRequest(action_ids, confirmed, verified_override, keep_going, actor or getpass.getuser())
    remediation = _remediation(app, profile, role_name)
    with progress(app.console, app.console.is_terminal and not as_json, "actions applied") as advance:
        remediation.on_action = lambda record: advance(note=record.id)
        report = remediation.apply(case_id, request)
    if as_json:
        for record in report.results or report.selected:
            echo_json({**record.to_json(), "dry_run": report.dry_run})
        for record, reason in report.skipped:
            echo_json({**record.to_json(), "skipped": reason, "dry_run": report.dry_run})
    else:
        print_report(app, report)
    if report.failed:
        raise SystemExit(1)


def print_report(app: App, report: RunReport) -> None:
    if report.override:
        who = report.override["by"]
        app.console.print(
            f"[yellow]Notice not verified: with --yes, this would apply on the word of {who}, "
            "and the override would be recorded.[/]"
            if report.dry_run
            else f"[yellow]Notice not verified: applying on the word of {who}; the override is recorded.[/]"
        )
    if report.dry_run:
        _print_records(app, f"Dry run: {len(report.selected)} action(s) would be applied", report.selected)
        app.console.print("Nothing was changed. Add --yes to apply.")
    else:
        _print_records(app, f"Case {report.case_id}: {len(report.results)} action(s) run", report.results)
    for record, reason in report.skipped:
        app.console.print(Text(printable(f"  skipped {record.id} ({record.action}): {reason}")))


@fix_group.command("undo")
@click.argument("action_ids", nargs=-1, required=True)
@click.option("--yes", "confirmed", is_flag=True, help="Really undo; without it nothing is called.")
@click.option("--by", "actor", default=None, help="Who undoes (default: the current user).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per action, one per line.")
@_PROFILE
@_ROLE_NAME
@pass_app
def undo(
    app: App,
    action_ids: tuple[str, ...],
    confirmed: bool,
    actor: str | None,
    as_json: bool,
    profile: str | None,
    role_name: str | None,
) -> None:
    """Revert applied actions where AWS allows it (state read back and compared with before)."""
    remediation, who, failed = _remediation(app, profile, role_name), actor or getpass.getuser(), False
    for action_id in action_ids:
        record, done = remediation.undo(action_id, confirmed, who)
        failed = failed or (done and record.status != "undone")
        if as_json:
            echo_json({**record.to_json(), "dry_run": not done})
        elif not done:
            app.console.print(
                Text(printable(f"Dry run: undoing {action_id} would call:\n{_calls(record.plan.undo)}"))
            )
            app.console.print("Nothing was changed. Add --yes to undo.")
        elif record.status == "undone":
            app.console.print(f"{action_id} ({record.action}): undone and verified")
        else:
            error = (record.undo_result or {}).get("error") or "state not back to before"
            app.console.print(
                Text(printable(f"{action_id} ({record.action}): NOT undone: {mask_secrets(error)}"))
            )
    if failed:
        raise SystemExit(1)


@click.command("actions")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per action, one per line.")
@pass_app
def actions_command(app: App, as_json: bool) -> None:
    """The catalogue of fixes: what each changes, the IAM permissions it needs, how it is undone."""
    rows = [
        {
            "name": action.name,
            "resource_type": action.resource_type,
            "title": action.title,
            "default": action.default,
            "reversible": action.reversible,
            "undo": action.undo_note,
            "permissions": list(action.permissions),
            "checklist_items": list(action.checklist_items),
        }
        for action in ACTIONS
    ]
    if as_json:
        for row in rows:
            echo_json(row)
        return
    table = Table(title="Fixes (noticedesk fix plan CASE_ID proposes them from findings)", show_lines=True)
    for column in ("name", "resource", "what", "permissions", "undo"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["name"]) + ("" if row["default"] else "\n(optional)"),
            str(row["resource_type"]),
            str(row["title"]),
            "\n".join(row["permissions"]),  # type: ignore[arg-type]
            str(row["undo"]),
        )
    app.console.print(table)


COMMANDS = [fix_group, actions_command]
