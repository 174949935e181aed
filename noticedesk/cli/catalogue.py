"""``noticedesk rules``: the classification table, as data."""

from __future__ import annotations

import click
from rich.table import Table

from noticedesk.cli import App, pass_app
from noticedesk.cli.render import echo_json
from noticedesk.notices.rules import rule_table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule, one per line.")
@pass_app
def rules(app: App, as_json: bool) -> None:
    """List the classification rules (kinds, then stages) in the order they are tried."""
    table_data = rule_table()
    rows = [
        ("kind", rule.id, rule.priority, rule.kind.value, rule.describe(), rule.note)
        for rule in table_data.kinds
    ]
    rows += [
        (
            "stage",
            rule.id,
            rule.priority,
            rule.stage.value,
            rule.describe() + (f" (kinds: {', '.join(sorted(rule.kinds))})" if rule.kinds else ""),
            rule.note,
        )
        for rule in table_data.stages
    ]
    if as_json:
        for section, rule_id, priority, result, match, note in rows:
            echo_json(
                {
                    "table": section,
                    "id": rule_id,
                    "priority": priority,
                    "result": result,
                    "match": match,
                    "note": note,
                }
            )
        return
    table = Table(title="Classification rules (first match by priority)")
    for column in ("table", "id", "priority", "result", "match"):
        table.add_column(column, overflow="fold")
    for section, rule_id, priority, result, match, _note in rows:
        table.add_row(section, rule_id, str(priority), result, match)
    app.console.print(table)


COMMANDS = [rules]
