"""Changes that tell someone: each writes its outbox rows in its own transaction, once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fixes_helpers import apply_all, remediation
from sqlalchemy import Engine, select
from test_cases import FINAL, NOTICE, REMINDER, SENT, triage
from test_remediation import _setup
from triage_helpers import mail_bytes

from noticedesk.accounts.registry import Account, save_account
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import Diagnosis
from noticedesk.aws.findings import Finding
from noticedesk.remediation.diagnoses import store_diagnosis
from noticedesk.replies.record import mark_sent
from noticedesk.store.tables import outbox


def _told(engine: Engine) -> list[tuple[str, str | None, dict[str, str]]]:
    with engine.connect() as conn:
        query = select(outbox.c.kind, outbox.c.case_id, outbox.c.facts).order_by(outbox.c.id)
        return [(kind, case_id, facts) for kind, case_id, facts in conn.execute(query)]


def test_triage_tells_of_a_case_opened_once_and_of_each_stage_it_moves_to(
    engine: Engine, now: datetime
) -> None:
    (first,) = triage(engine, now, mail_bytes(NOTICE))
    triage(engine, now, mail_bytes(NOTICE))  # read again: nothing new to tell
    ((kind, case_id, facts),) = _told(engine)
    assert (kind, case_id) == ("case.opened", str(first.case_id))
    assert facts["case_kind"] == "abuse-report" and facts["stage"] == "notice"
    assert (
        facts["deadline"] == (SENT + timedelta(hours=24)).isoformat()
        and facts["deadline_label"] == "reply_by"
    )
    triage(engine, now, REMINDER)
    triage(engine, now, FINAL)
    triage(engine, now, FINAL)
    told = _told(engine)
    assert [(kind, facts.get("stage"), facts.get("previous_stage")) for kind, _, facts in told] == [
        ("case.opened", "notice", None),
        ("case.stage", "reminder", "notice"),
        ("case.stage", "final", "reminder"),
    ]


def test_a_registered_accounts_case_is_told_in_its_language_and_name(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        save_account(conn, Account("111122223333", "Shop", language="ja", channels=("ops",)), now=now)
    triage(engine, now, mail_bytes(NOTICE))
    with engine.connect() as conn:
        ((channel, language, facts),) = conn.execute(
            select(outbox.c.channel, outbox.c.language, outbox.c.facts)
        )
    assert (channel, language, facts["account_name"]) == ("ops", "ja", "Shop")


def test_a_mail_posing_as_aws_is_told_as_suspicious(engine: Engine, now: datetime) -> None:
    (result,) = triage(engine, now, mail_bytes("phishing-lookalike.eml"))
    assert result.case_id is None
    ((kind, case_id, facts),) = _told(engine)
    assert (kind, case_id) == ("notice.suspicious", None)
    assert facts["sender"] and facts["reasons"] != "-" and facts["reasons_ja"] != "-"


def test_fixes_tell_of_each_action_applied_and_undone_with_keys_masked(
    aws: ClientFactory, engine: Engine, now: datetime
) -> None:
    case_id, key = _setup(aws, engine, now)
    runner = remediation(engine, aws, now)
    applied = apply_all(runner, case_id)
    runner.undo(applied.results[0].id, confirmed=True, requested_by="tester")
    told = [(kind, facts) for kind, _, facts in _told(engine)]
    assert [kind for kind, _ in told] == ["action.applied", "action.applied", "action.undone"]
    assert {facts["action_id"] for _, facts in told} == {result.id for result in applied.results}
    assert key not in json.dumps(told) and key[-4:] in json.dumps(told)  # AKIA…WXYZ


def test_a_refused_fix_is_told_as_failed(aws: ClientFactory, engine: Engine, now: datetime) -> None:
    case_id, _ = _setup(aws, engine, now)
    runner = remediation(engine, aws, now)
    detach = next(record for record in runner.plan(case_id) if record.action == "detach-policy")
    apply_all(runner, case_id, action_ids=(detach.id,))
    ((kind, _, facts),) = _told(engine)
    assert (kind, facts["action_id"]) == ("action.failed", detach.id)
    assert "never detaches" in facts["error"]


def test_a_diagnosis_tells_of_high_and_critical_problems_once(engine: Engine, now: datetime) -> None:
    def run(run_id: str) -> Diagnosis:
        found = (
            Finding(
                "key-owner", "fail", "critical", "123456789012", None, "AKIAIOSFODNN7EXAMPLE", "key used"
            ),
            Finding("public-amis", "fail", "medium", "123456789012", "us-east-1", "ami-1", "public image"),
            Finding("persistence", "pass", "high", "123456789012", None, "u", "fine"),
        )
        return Diagnosis(run_id, "123456789012", ("us-east-1",), ("key-owner",), found, 3, 0.1)

    store_diagnosis(engine, run("r1"), None, now)
    store_diagnosis(engine, run("r2"), None, now)  # found again: not told again
    ((kind, case_id, facts),) = _told(engine)
    assert (kind, case_id, facts["severity"], facts["check"]) == (
        "finding.severe",
        None,
        "critical",
        "key-owner",
    )
    assert (
        facts["resource"] == "AKIA…MPLE" and facts["command"] == "noticedesk diagnose --account 123456789012"
    )


def test_a_reply_marked_sent_is_told(engine: Engine, now: datetime) -> None:
    (first,) = triage(engine, now, mail_bytes(NOTICE))
    mark_sent(engine, first.case_id or 0, "Dear AWS, ...", now, "hanako")
    kind, case_id, facts = _told(engine)[-1]
    assert (kind, case_id, facts["by"], facts["case_kind"]) == (
        "reply.sent",
        str(first.case_id),
        "hanako",
        "abuse-report",
    )


def test_an_ses_alarm_reads_as_percentages_in_both_languages(now: datetime) -> None:
    from noticedesk.notify.emitters import ses_alarm
    from noticedesk.notify.messages import render

    event = ses_alarm(
        "raised", "bounce|identity|shop.example|critical|2026-11-28", "123456789012", 9,
        metric="bounce", scope="identity shop.example", value=0.0412, threshold=0.04,
    )  # fmt: skip
    en = render(event.kind, event.facts, language="en", now=now, case_id="9", account_id="123456789012")
    ja = render(event.kind, event.facts, language="ja", now=now, case_id="9", account_id="123456789012")
    assert (
        "The SES bounce rate of identity shop.example is 4.12%, past the critical level of 4.00%" in en.what
    )
    assert "バウンス率が 4.12%" in ja.what and "危険水準" in ja.what and en.command == "noticedesk ses rates"


def test_every_message_of_a_case_counts_down_to_its_deadline(engine: Engine, now: datetime) -> None:
    (first,) = triage(engine, now, mail_bytes(NOTICE))
    store_diagnosis(
        engine,
        Diagnosis(
            "r", "111122223333", (), (), (Finding("c", "fail", "high", None, None, "x", "bad"),), 1, 0.0
        ),
        first.case_id,
        now,
    )
    kind, _, facts = _told(engine)[-1]
    assert kind == "finding.severe"
    assert (facts["deadline"], facts["deadline_label"]) == (
        (SENT + timedelta(hours=24)).isoformat(),
        "reply_by",
    )
    assert facts["case_kind"] == "abuse-report"


def test_an_ses_rate_alarm_raised_is_told_once(engine: Engine) -> None:
    from test_feedback_alarms import NOW, line

    from noticedesk.config import SesConfig
    from noticedesk.feedback.alarm_state import check_alarms
    from noticedesk.feedback.events import parse_line
    from noticedesk.feedback.ingest import ingest_batches
    from noticedesk.feedback.verdicts import PolicySettings

    lines = [line("send", index) for index in range(200)] + [line("bounce", index) for index in range(12)]
    ingest_batches(engine, [(parse_line(text), "x") for text in lines], PolicySettings(), NOW)
    check_alarms(engine, SesConfig(), now=NOW)
    check_alarms(engine, SesConfig(), now=NOW)
    told = _told(engine)
    assert [kind for kind, _, _ in told] == ["ses.alarm.raised"] * 3  # account, region, identity
    assert {facts["value"] for _, _, facts in told} == {"6.00%"}
    assert {case_id for _, case_id, _ in told} == {told[0][1]} and told[0][1] is not None
