"""``noticedesk summary CASE_ID --lang ja|en``: the case in plain words, for the account owner."""

from __future__ import annotations

import click

from noticedesk.cli import App, pass_app
from noticedesk.cli.params import CASE_ID
from noticedesk.cli.render import echo, echo_json
from noticedesk.cli.wrap import for_terminal
from noticedesk.replies import owner_summary
from noticedesk.replies.summary import LANGUAGES, Lang


@click.command("summary")
@click.argument("case_id", type=CASE_ID)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default="ja",
    show_default=True,
    help="Language of the summary.",
)
@click.option("--json", "as_json", is_flag=True, help="The summary as one JSON object.")
@pass_app
def summary_command(app: App, case_id: int, lang: Lang, as_json: bool) -> None:
    """What AWS said, what it means, the clocks, what was found and done, what is left and by when."""
    text = owner_summary(app.engine, case_id, lang, app.now())
    if as_json:
        echo_json({"case_id": case_id, "lang": lang, "summary": text})
        return
    if app.console.is_terminal:  # read here: wrapped by phrase; piped or redirected: as it is, to copy
        text = for_terminal(text, app.console.width)
    echo(text, nl=False)


COMMANDS = [summary_command]
