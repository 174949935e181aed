"""The real CLI over both stores: `reply CASE_ID` (text, md, eml, json), `reply mark-sent`, `summary`."""

from __future__ import annotations

import email
import json
from collections.abc import Callable
from email import policy
from pathlib import Path

import click
from click.testing import CliRunner, Result
from replies_support import file_case
from sqlalchemy import Engine, select

from noticedesk.cli import cli
from noticedesk.store.tables import case_events, cases


def _run(engine: Engine, *args: str) -> Result:
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)


def _events(engine: Engine, case_id: int, type_: str) -> list[dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(case_events.c.detail).where(case_events.c.case_id == case_id, case_events.c.type == type_)
        ).scalars()
        return [dict(row) for row in rows]


def test_reply_case_id_prints_the_draft_and_records_reply_drafted(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "abuse-report.eml")
    result = _run(sqlite_engine, "reply", str(case_id))
    assert result.exit_code == 0, result.output
    assert "Subject: RE: Your Amazon EC2 Abuse Report [12345678901-1] [AWS ID 111122223333]" in result.output
    assert "To:      AWS abuse team (reply to the abuse report mail) <ec2-abuse@amazon.com>" in result.output
    assert "checklist items open" in result.output.splitlines()[0]
    drafted = _events(sqlite_engine, case_id, "reply-drafted")
    assert len(drafted) == 1 and drafted[0]["format"] == "text"


def test_reply_json_and_markdown(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "ses-bounce.eml")
    data = json.loads(_run(sqlite_engine, "reply", str(case_id), "--json").output)
    assert data["to"] == "ses-review@amazon.com" and data["via"] == "mail"
    assert data["in_reply_to"] == "<ses-bounce-0001@fixture.invalid>"
    assert data["open_items"] == [item for item in data["open_items"] if item]
    markdown = _run(sqlite_engine, "reply", str(case_id), "--format", "md").output
    assert markdown.startswith("# RE: Amazon SES Bounce Review Period for AWS Account 111122223333")
    assert "\n## Timeline (UTC)\n" in markdown


def test_eml_parses_back_and_threads_to_the_notice(engine: Engine) -> None:
    case_id = file_case(engine, "abuse-report.eml")
    output = _run(engine, "reply", str(case_id), "--format", "eml").output
    message = email.message_from_string(output, policy=policy.default)
    assert message["In-Reply-To"] == "<abuse-initial-0001@fixture.invalid>"
    assert "<abuse-initial-0001@fixture.invalid>" in message["References"]
    assert message["To"] == "ec2-abuse@amazon.com"
    assert message["From"] == "cloud-team@example.jp"
    assert message["Subject"].startswith("RE: Your Amazon EC2 Abuse Report [12345678901-1]")
    assert message["Message-ID"].endswith("@example.jp>")
    body = message.get_body(("plain",))
    assert body is not None and "Hello AWS Abuse team," in body.get_content()


def test_eml_for_a_support_case_has_no_recipient_and_says_where_to_paste_it(sqlite_engine: Engine) -> None:
    case_id = file_case(sqlite_engine, "account-compromised.eml")
    message = email.message_from_string(
        _run(sqlite_engine, "reply", str(case_id), "--format", "eml").output, policy=policy.default
    )
    assert message["To"] is None
    # Nothing of NoticeDesk goes to AWS: no X-NoticeDesk-* header (the store keeps the case).
    assert not [name for name in message if name.lower().startswith("x-noticedesk")]
    # The key AWS named is named in full in the reply to AWS (a key id is not a secret).
    assert "AKIAQWERTYUIOPASDFGH" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    drafted = _events(sqlite_engine, case_id, "reply-drafted")
    assert drafted[0]["format"] == "eml" and drafted[0]["via"] == "support-center"
    assert "AKIAQWERTYUIOPASDFGH" not in json.dumps(drafted)  # the store keeps it masked


def test_reply_picks_the_acknowledgement_until_the_checklist_is_done_and_says_so(
    sqlite_engine: Engine,
) -> None:
    case_id = file_case(sqlite_engine, "abuse-report.eml")
    output = _run(sqlite_engine, "reply", str(case_id)).output
    assert output.splitlines()[0].startswith(f"Draft reply for case #{case_id}: acknowledgement")
    assert "resolution reply is offered once the required checklist items are done" in output
    assert "lift" not in output.split("the reply starts below this line")[1]
    refused = CliRunner().invoke(
        cli,
        [
            "--db",
            sqlite_engine.url.render_as_string(hide_password=False),
            *("reply", str(case_id), "--variant", "resolution"),
        ],
    )
    assert refused.exit_code == 2
    assert refused.output.startswith(f"error: case {case_id}: no resolution reply yet:")
    detail = json.loads(_run(sqlite_engine, "case", "show", str(case_id), "--json").output)
    for item in detail["checklist"]:
        if not item["key"].startswith("reply"):
            assert _run(sqlite_engine, "case", "check", str(case_id), item["key"]).exit_code == 0
    ready = json.loads(_run(sqlite_engine, "reply", str(case_id), "--json").output)
    assert ready["variant"] == "resolution" and ready["resolution_ready"] is True
    ack = json.loads(
        _run(sqlite_engine, "reply", str(case_id), "--variant", "acknowledgement", "--json").output
    )
    assert ack["variant"] == "acknowledgement" and "within 24 hours" in ack["body"]


def test_mark_sent_moves_status_and_stops_the_reply_clock(
    engine: Engine, tmp_path: Path, scenario_case: Callable[[Engine, str], int]
) -> None:
    case_id = scenario_case(engine, "abuse-report")  # its checklist has the step "reply-to-aws"
    with engine.connect() as connection:
        before = connection.execute(select(cases.c.reply_by).where(cases.c.id == case_id)).scalar_one()
    assert before is not None
    sent = tmp_path / "sent.txt"
    sent.write_text("Hello AWS Abuse team, we isolated the instance.\n", "utf-8")
    result = _run(engine, "reply", "mark-sent", str(case_id), "--file", str(sent), "--by", "hanako")
    assert result.exit_code == 0, result.output
    assert "status replied" in result.output
    with engine.connect() as connection:
        row = connection.execute(select(cases.c.status, cases.c.reply_by).where(cases.c.id == case_id)).one()
    assert row.status == "replied" and row.reply_by is None
    (event,) = _events(engine, case_id, "reply-sent")
    assert event["text"] == sent.read_text("utf-8")
    assert event["sent_by"] == "hanako"
    assert event["previous_reply_by"] == before.isoformat()
    assert event["previous_status"] == "new"
    detail = _run(engine, "case", "show", str(case_id), "--json").output
    checklist = {item["key"]: item["done_by"] for item in json.loads(detail)["checklist"]}
    assert checklist.get("reply-to-aws") == "hanako"  # the runbook's reply step is ticked


def test_mark_sent_without_file_records_the_current_draft_and_summary_says_replied(
    sqlite_engine: Engine,
) -> None:
    case_id = file_case(sqlite_engine, "ses-bounce.eml")
    assert _run(sqlite_engine, "reply", "mark-sent", str(case_id), "--by", "taro").exit_code == 0
    (event,) = _events(sqlite_engine, case_id, "reply-sent")
    assert str(event["text"]).startswith("Hello Amazon SES team,")
    summary = _run(sqlite_engine, "summary", str(case_id), "--lang", "ja").output
    assert "AWS には返信済みです。" in summary
    assert "AWS への返信（下書き" not in summary


def test_summary_in_both_languages(
    sqlite_engine: Engine, scenario_case: Callable[[Engine, str], int]
) -> None:
    engine = sqlite_engine
    case_id = scenario_case(engine, "abuse-report")
    japanese = _run(engine, "summary", str(case_id), "--lang", "ja").output
    assert japanese.startswith("AWS 不正利用（Abuse）レポート（ケース #")
    assert "■ 残っている作業" in japanese and "です。" in japanese
    english = json.loads(_run(engine, "summary", str(case_id), "--lang", "en", "--json").output)
    assert english["lang"] == "en" and "What is left" in english["summary"]


def test_unknown_case_is_a_one_line_error(sqlite_engine: Engine) -> None:
    for args in (("reply", "999"), ("reply", "mark-sent", "999"), ("summary", "999")):
        result = CliRunner().invoke(
            cli, ["--db", sqlite_engine.url.render_as_string(hide_password=False), *args]
        )
        assert result.exit_code == 2
        assert result.output.strip() == "error: no case 999"


def test_reply_help_shows_both_forms() -> None:
    output = CliRunner().invoke(cli, ["reply", "--help"]).output
    assert "reply CASE_ID [--variant V] [--format text|eml|md] [--json]" in output
    assert "reply mark-sent CASE_ID" in output
    draft_help = CliRunner().invoke(cli, ["reply", "7", "--help"]).output
    assert "--format" in draft_help and "--variant [acknowledgement|resolution]" in draft_help


def test_every_reply_command_has_help_and_is_in_the_docs() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "replies.md").read_text("utf-8")
    group = cli.get_command(click.Context(cli), "reply")
    summary = cli.get_command(click.Context(cli), "summary")
    assert isinstance(group, click.Group) and summary is not None
    for name, command in [*group.commands.items(), ("summary", summary)]:
        assert command.help, f"{name} has no help text"
        form = (
            "noticedesk reply CASE_ID"
            if name == "draft"
            else f"noticedesk {'' if name == 'summary' else 'reply '}{name}"
        )
        assert form in docs, f"{form} missing from docs/replies.md"
