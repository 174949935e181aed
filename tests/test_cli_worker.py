from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from noticedesk.aws.clients import ClientFactory
from noticedesk.cli import cli
from tests.queue_helpers import feedback_body


@pytest.fixture
def queues(aws: ClientFactory) -> tuple[str, str]:
    sqs = aws.client("sqs")
    return sqs.create_queue(QueueName="ses")["QueueUrl"], sqs.create_queue(QueueName="dead")["QueueUrl"]


def write_config(tmp_path: Path, ses: str, dead: str) -> Path:
    path = tmp_path / "noticedesk.toml"
    path.write_text(
        f'[worker]\nses_queue_url = "{ses}"\ndead_letter_queue_url = "{dead}"\nwait_seconds = 0\n'
    )
    return path


def run(tmp_path: Path, *arguments: str, config: Path | None = None) -> Any:
    prefix = ["--db", str(tmp_path / "n.db")] + (["--config", str(config)] if config else [])
    return CliRunner().invoke(cli, [*prefix, *arguments])


def test_worker_drains_and_dead_letters_lists_what_it_could_not_process(
    queues: tuple[str, str], tmp_path: Path
) -> None:
    ses, dead = queues
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(QueueUrl=ses, MessageBody=feedback_body(10))
    sqs.send_message(QueueUrl=ses, MessageBody="garbage")
    config = write_config(tmp_path, ses, dead)
    result = run(tmp_path, "worker", "--drain", "--queues", "ses", config=config)
    assert result.exit_code == 0, result.output
    assert "consuming ses" in result.stderr
    assert run(tmp_path, "ses", "check", "user10@example.org").exit_code == 1  # suppressed
    listed = run(tmp_path, "dead-letters", "--json")
    [letter] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (letter["queue"], letter["body"]) == ("ses", "garbage")
    assert letter["reason"].startswith("not SES feedback")
    table = run(tmp_path, "dead-letters")
    assert "not SES feedback" in table.stdout and "1 dead letter(s)" in table.stdout


def test_worker_without_queues_says_what_to_configure(tmp_path: Path) -> None:
    result = run(tmp_path, "worker", "--drain")
    assert result.exit_code == 2
    assert "set [worker] ses_queue_url" in result.stderr


def test_worker_refuses_an_unknown_queue_name(tmp_path: Path) -> None:
    result = run(tmp_path, "worker", "--queues", "ses,sms")
    assert result.exit_code == 2
    assert "unknown queue sms" in result.stderr


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    first = run(tmp_path, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "schema upgraded from empty to" in first.stdout
    again = run(tmp_path, "db", "upgrade")
    assert "schema already at" in again.stdout
