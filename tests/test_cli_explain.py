"""`noticedesk triage --explain`: the cues behind kind, stage and abuse types; nothing stored."""

from __future__ import annotations

import json
from datetime import datetime

from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import Engine, func, select
from triage_helpers import HEALTH, MAILS, make_app

from noticedesk.cli import cli
from noticedesk.store.tables import cases, messages


def _stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(cases)).scalar_one(),
            connection.execute(select(func.count()).select_from(messages)).scalar_one(),
        )


def test_explain_names_the_cues_and_weights_that_decided(sqlite_engine: Engine, now: datetime) -> None:
    paths = [str(MAILS / "abuse-reminder-intrusion.eml"), str(MAILS / "ses-suspended.eml")]
    result = CliRunner().invoke(cli, ["triage", "--explain", *paths], obj=make_app(sqlite_engine, now))
    assert result.exit_code == 0, result.output
    abuse, ses = result.stdout.split("\n\n")[:2]
    assert "kind   abuse-report  (score" in abuse and "needs 4)" in abuse
    assert "stage  reminder  (score 5, needs 3)" in abuse
    assert "+5  reminder " in abuse
    assert "type intrusion  (score" in abuse and "intrusion-1" in abuse
    assert "kind   ses-review" in ses and "stage  paused" in ses and "+5  ses-paused" in ses
    assert _stored(sqlite_engine) == (0, 0)  # explaining files nothing


def test_explain_says_why_a_third_party_alert_about_aws_is_not_aws(
    sqlite_engine: Engine, now: datetime
) -> None:
    alert = (
        b"From: Leak Scanner <alerts@scanner.example>\nSubject: Exposed AWS access key found\n"
        b"Date: Fri, 27 Nov 2026 03:00:00 +0000\nMessage-ID: <scan-1@scanner.example>\n\n"
        b"Our scan found an AWS access key committed to a public GitHub repository.\n"
    )
    path = MAILS / "compromised-exposed-key.eml"
    result = CliRunner().invoke(
        cli, ["triage", "--explain", "-", str(path)], input=alert, obj=make_app(sqlite_engine, now)
    )
    third_party, genuine = result.stdout.split("\n\n")[:2]
    assert (
        "kind   not-aws  (sent from outside AWS by a sender that neither names AWS nor speaks as AWS)"
        in third_party
    )
    assert "others: account-compromised" in third_party
    assert "kind   account-compromised  (score" in genuine


def test_json_carries_the_evidence_and_explain_json_stores_nothing(
    sqlite_engine: Engine, now: datetime
) -> None:
    app = make_app(sqlite_engine, now)
    path = str(MAILS / "ses-probation-subject.eml")
    explained = CliRunner().invoke(cli, ["triage", "--explain", "--json", path], obj=app)
    assert _stored(sqlite_engine) == (0, 0)
    filed = CliRunner().invoke(cli, ["triage", "--json", path], obj=app)
    evidence = json.loads(explained.stdout)["evidence"]
    assert json.loads(filed.stdout)["evidence"] == evidence
    assert evidence["kind"]["value"] == "ses-bounce"
    assert {"id": "ses-bounce-subject", "weight": 8, "in": "subject"} in evidence["kind"]["cues"]
    assert evidence["stage"] == {"value": "notice", "score": 0, "cues": [], "others": []}
    assert _stored(sqlite_engine) == (1, 1)


def test_a_health_event_is_explained_by_its_event_type(sqlite_engine: Engine, now: datetime) -> None:
    path = sorted(HEALTH.glob("*.json"))[0]
    result = CliRunner().invoke(cli, ["triage", "--explain", str(path)], obj=make_app(sqlite_engine, now))
    assert "from the Health event type code" in result.stdout


def test_rules_lists_cues_with_weights_and_patterns_as_written(sqlite_engine: Engine, now: datetime) -> None:
    app = make_app(sqlite_engine, now)
    app.console = Console(width=400)
    shown = CliRunner().invoke(cli, ["rules"], obj=app)
    assert "a kind needs 4, a stage 3, an abuse type 3" in shown.stdout
    assert "sender~/[@.]sns\\.amazonaws\\.com$/" in shown.stdout  # a character class is not markup
    rows = [
        json.loads(line) for line in CliRunner().invoke(cli, ["rules", "--json"], obj=app).stdout.splitlines()
    ]
    assert {"table": "stage", "id": "ses-paused", "weight": 5, "result": "paused"}.items() <= next(
        row for row in rows if row["id"] == "ses-paused"
    ).items()
    assert any(row["table"] == "abuse-type" and row["result"] == "intrusion" for row in rows)
