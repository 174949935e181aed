"""``noticedesk reply CASE_ID`` (draft a reply to AWS) and ``noticedesk reply mark-sent CASE_ID``.

``reply`` is a group whose default command takes the case id: a first argument made of digits
is routed to the (hidden) ``draft`` command, so ``reply 7`` and ``reply mark-sent 7`` both work
and each keeps its own options and help.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import click

from noticedesk.cli import App, pass_app
from noticedesk.cli.params import CASE_ID
from noticedesk.cli.render import echo, echo_json, short_time
from noticedesk.replies import draft_reply
from noticedesk.replies.compose import VARIANTS, Variant
from noticedesk.replies.formats import as_eml, as_markdown, as_text
from noticedesk.replies.record import mark_sent, record_drafted

DRAFT = "draft"


class ReplyGroup(click.Group):
    """A group that treats ``reply CASE_ID …`` as ``reply draft CASE_ID …``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].isdigit():
            args = [DRAFT, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "CASE_ID [--variant V] [--format text|eml|md] [--json]")
        formatter.write_usage(ctx.command_path, "mark-sent CASE_ID [--file SENT.txt] [--by NAME]")


class _DraftCommand(click.Command):
    """The default command: its usage line shows the form people type, without ``draft``."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        parent = ctx.parent.command_path if ctx.parent else "reply"
        formatter.write_usage(parent, "CASE_ID [OPTIONS]")


@click.group("reply", cls=ReplyGroup)
def reply_group() -> None:
    """Draft the English reply to AWS for case CASE_ID, built only from what the case holds.

    The draft is printed, never sent. `noticedesk reply CASE_ID --help` lists the draft's options.
    """


@reply_group.command(DRAFT, cls=_DraftCommand, hidden=True)
@click.argument("case_id", type=CASE_ID)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "eml", "md"]),
    default="text",
    show_default=True,
    help="text: for reading; eml: an RFC 5322 message threaded to the notice; md: Markdown.",
)
@click.option(
    "--variant",
    type=click.Choice(VARIANTS),
    default=None,
    help="acknowledgement: we are on it, done so far, when we write again; resolution: root cause, "
    "changes, prevention, the request to lift restrictions (only once the required checklist items "
    "are done). Default: the resolution when it is ready, else the acknowledgement.",
)
@click.option("--json", "as_json", is_flag=True, help="The draft as one JSON object.")
@pass_app
def draft_command(app: App, case_id: int, output_format: str, variant: Variant | None, as_json: bool) -> None:
    """Draft the reply to AWS for CASE_ID (records `reply-drafted` on the case's timeline)."""
    now = app.now()
    draft = draft_reply(app.engine, case_id, now, "md" if output_format == "md" else "text", variant)
    record_drafted(app.engine, draft, output_format, now, getpass.getuser())
    rendered = _render(draft, output_format, now)
    if as_json:
        echo_json({**draft.to_json(), "format": output_format, "rendered": rendered})
        return
    echo(rendered, nl=False)


def _render(draft: Any, output_format: str, now: Any) -> str:
    if output_format == "eml":
        return as_eml(draft, now)
    if output_format == "md":
        return as_markdown(draft)
    return as_text(draft)


@reply_group.command("mark-sent")
@click.argument("case_id", type=CASE_ID)
@click.option(
    "--file",
    "sent_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The text as it was sent (default: the current draft).",
)
@click.option("--by", "actor", default=None, help="Who sent it (default: the current user).")
@click.option("--json", "as_json", is_flag=True, help="The result as one JSON object.")
@pass_app
def mark_sent_command(
    app: App, case_id: int, sent_file: Path | None, actor: str | None, as_json: bool
) -> None:
    """Record that the reply for CASE_ID was sent: status `replied`, reply-by clock stopped."""
    now = app.now()
    who = actor or getpass.getuser()
    text = sent_file.read_text("utf-8") if sent_file else draft_reply(app.engine, case_id, now).body
    sent = mark_sent(app.engine, case_id, text, now, who)
    if as_json:
        echo_json(
            {
                "case_id": sent.case_id,
                "status": sent.status,
                "previous_status": sent.previous_status,
                "previous_reply_by": sent.previous_reply_by.isoformat() if sent.previous_reply_by else None,
                "sent_by": who,
            }
        )
        return
    click.echo(
        f"case {case_id}: reply recorded as sent by {who}; status {sent.status}; "
        f"reply-by clock stopped (was {short_time(sent.previous_reply_by)})"
    )


COMMANDS = [reply_group]
