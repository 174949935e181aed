"""``noticedesk case verify``: confirm with AWS that a case's Health event or support case exists."""

from __future__ import annotations

import getpass

import click
from rich.text import Text

from noticedesk.cli import App, pass_app
from noticedesk.cli.params import CASE_ID
from noticedesk.cli.render import echo_json
from noticedesk.printable import printable


@click.command("verify")
@click.argument("case_id", type=CASE_ID)
@click.option("--profile", default=None, help="AWS profile (default: the standard credential chain).")
@click.option(
    "--role-name",
    default=None,
    help="Role to assume in the case's account (default: role_name of [diagnose], else of [fixes]).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per check, one per line.")
@pass_app
def verify(app: App, case_id: int, profile: str | None, role_name: str | None, as_json: bool) -> None:
    """Ask AWS Health and AWS Support whether the notice of a case is real (needs a Business
    support plan; otherwise says "not checked" and why). Recorded on the case as a note and a fact."""
    configured = app.config.diagnose.role_name or app.config.fixes.role_name
    from noticedesk.remediation.verification import verify_case

    clients = app.clients(profile=profile, role_name=role_name, default_role=configured)
    checks = verify_case(app.engine, case_id, clients, app.now(), getpass.getuser())
    for check in checks:
        if as_json:
            echo_json({"case_id": case_id, **check.to_json()})
        else:
            style = {"confirmed": "green", "not-found": "bold red"}.get(check.status, "yellow")
            line = Text(f"{check.source:<8} ").append(check.status, style=style)
            app.console.print(line.append(printable(f"  {check.detail}")))
