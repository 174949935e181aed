"""``noticedesk rules``: the classification table, as data."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from noticedesk.cli import App, pass_app
from noticedesk.cli.render import echo_json
from noticedesk.notices.rules import rule_table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule, one per line.")
@pass_app
def rules(app: App, as_json: bool) -> None:
    """List the classification cues (kinds, stages, abuse types) with their weights."""
    table_data = rule_table()
    rows = [
        ("kind", rule.id, rule.weight, rule.kind.value, rule.describe(), rule.note)
        for rule in table_data.kinds
    ]
    rows += [
        (
            "stage",
            rule.id,
            rule.weight,
            rule.stage.value,
            rule.describe() + (f" (kinds: {', '.join(sorted(rule.kinds))})" if rule.kinds else ""),
            rule.note,
        )
        for rule in table_data.stages
    ]
    rows += [
        ("abuse-type", cue.id, cue.weight, cue.label, f"abuse lines~/{cue.pattern.pattern}/", "")
        for cue in table_data.abuse_types
    ]
    if as_json:
        for section, rule_id, weight, result, match, note in rows:
            echo_json(
                {
                    "table": section,
                    "id": rule_id,
                    "weight": weight,
                    "result": result,
                    "match": match,
                    "note": note,
                }
            )
        return
    thresholds = table_data.thresholds
    table = Table(
        title=(
            f"Classification cues (a kind needs {thresholds.kind}, a stage {thresholds.stage}, "
            f"an abuse type {thresholds.abuse_type})"
        )
    )
    for column in ("table", "id", "weight", "result", "match"):
        table.add_column(column, overflow="fold")
    for section, rule_id, weight, result, match, _note in rows:
        table.add_row(section, rule_id, str(weight), result, escape(match))  # "[@.]" is not markup
    app.console.print(table)


COMMANDS = [rules]
