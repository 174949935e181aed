"""Cases on both stores: follow-ups join and move their case; duplicates change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from triage_helpers import HEALTH, mail_bytes, make_app

from noticedesk.cases.queries import get_case, list_cases
from noticedesk.cli import cli
from noticedesk.mail.readers import RawItem
from noticedesk.store.tables import case_events, cases, messages
from noticedesk.triage import Triage, TriageResult

NOTICE = "abuse-subject-portscan.eml"  # sent 2026-11-27 03:00 UTC, "reply within 24 hours"
SENT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def follow_up(message_id: str, sent: datetime, subject_prefix: str = "", text: str = "") -> bytes:
    """The notice again, as AWS sends a follow-up of it: a new Message-ID, a later Date, more text."""
    raw = mail_bytes(NOTICE)
    raw = raw.replace(b"<abuse-0001@amazon.com>", f"<{message_id}>".encode())
    raw = raw.replace(
        b"Fri, 27 Nov 2026 03:00:00 +0000", sent.strftime("%a, %d %b %Y %H:%M:%S +0000").encode()
    )
    raw = raw.replace(b"Subject: ", f"Subject: {subject_prefix}".encode(), 1)
    return raw.replace(b"\nHello,\n", f"\nHello,\n\n{text}\n".encode(), 1)


def triage(engine: Engine, now: datetime, *raws: bytes) -> list[TriageResult]:
    items = [RawItem(f"mail-{number}.eml", None, raw, "mail") for number, raw in enumerate(raws)]
    return list(Triage(engine, now=lambda: now).run(items))


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (cases, messages, case_events)
        )


REMINDER = follow_up(
    "abuse-0001-r@amazon.com", SENT + timedelta(hours=20), text="We have not yet received a reply."
)
FINAL = follow_up(
    "abuse-0001-f@amazon.com", SENT + timedelta(hours=26), subject_prefix="FINAL NOTIFICATION: "
)


def test_follow_ups_join_their_case_and_move_stage_and_clocks(engine: Engine, now: datetime) -> None:
    first = triage(engine, now, mail_bytes(NOTICE))[0]
    case = get_case(engine, first.case_id or 0).summary
    assert (case.stage, case.status) == ("notice", "new")
    assert case.reply_by == SENT + timedelta(hours=24)  # "within 24 hours" of the mail's Date
    assert case.enforcement_at == SENT + timedelta(hours=24)  # AWS may act 24 h after the notice

    results = triage(engine, now, REMINDER, FINAL, mail_bytes("abuse-resolved.eml"))
    assert {result.case_id for result in results} == {first.case_id}
    assert counts(engine)[0] == 1
    detail = get_case(engine, first.case_id or 0)
    assert (detail.summary.stage, detail.summary.status) == ("resolved", "resolved")
    assert detail.summary.reply_by is None
    assert detail.summary.enforcement_at == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # when it closed
    stages = [event.detail["stage"] for event in detail.timeline if event.type == "notice-received"]
    assert stages == ["notice", "reminder", "final", "resolved"]
    assert detail.facts.abuse_types == ("port-scan",)  # follow-ups naming no type add no "other"


def test_reminder_moves_the_reply_clock(engine: Engine, now: datetime) -> None:
    case_id = triage(engine, now, mail_bytes(NOTICE), REMINDER)[1].case_id
    summary = get_case(engine, case_id or 0).summary
    assert summary.stage == "reminder"
    assert summary.reply_by == SENT + timedelta(hours=20 + 24)  # the reminder repeats "within 24 hours"
    assert summary.enforcement_at == SENT + timedelta(hours=20)  # the second warning: AWS may act now


def test_an_ses_review_without_a_stated_window_shows_no_made_up_date(engine: Engine, now: datetime) -> None:
    case_id = triage(engine, now, mail_bytes("ses-complaint-subject.eml"))[0].case_id
    detail = get_case(engine, case_id or 0)
    assert (detail.summary.reply_by, detail.summary.enforcement_at) == (None, None)
    app = make_app(engine, now)
    text = CliRunner().invoke(cli, ["case", "show", str(case_id)], obj=app).stdout
    assert "AWS acts  AWS decides the window" in text
    shown = json.loads(CliRunner().invoke(cli, ["case", "show", str(case_id), "--json"], obj=app).stdout)
    assert shown["enforcement_undated"]["en"] == "AWS decides the window"
    facts = shown["runbooks"][0]["facts"]
    assert facts and all(fact["url"].startswith("https://") for fact in facts)


def test_thread_reply_without_reference_joins_by_in_reply_to(engine: Engine, now: datetime) -> None:
    reply = (
        b"From: AWS Abuse <ec2-abuse@amazon.com>\nSubject: Re: Your AWS Abuse Report\n"
        b"Date: Sat, 28 Nov 2026 01:00:00 +0000\nMessage-ID: <abuse-0001-t@amazon.com>\n"
        b"In-Reply-To: <abuse-0001@amazon.com>\n\nThank you for your reply.\n"
    )
    first, second = triage(engine, now, mail_bytes(NOTICE), reply)
    assert second.notice is not None and second.notice.facts.case_ref is None
    assert second.case_id == first.case_id
    assert get_case(engine, first.case_id or 0).summary.stage == "reply"


def test_a_later_arriving_older_notice_moves_nothing_back(engine: Engine, now: datetime) -> None:
    final_result = triage(engine, now, FINAL)[0]
    before = get_case(engine, final_result.case_id or 0).summary
    late = triage(engine, now, mail_bytes(NOTICE), REMINDER)
    assert {result.case_id for result in late} == {final_result.case_id}
    after = get_case(engine, final_result.case_id or 0).summary
    assert (after.stage, after.reply_by, after.enforcement_at) == (
        "final",
        before.reply_by,
        before.enforcement_at,
    )


def test_an_older_notice_does_not_reopen_a_resolved_case(engine: Engine, now: datetime) -> None:
    case_id = triage(engine, now, mail_bytes("abuse-resolved.eml"))[0].case_id
    triage(engine, now, mail_bytes(NOTICE))
    summary = get_case(engine, case_id or 0).summary
    assert (summary.stage, summary.status) == ("resolved", "resolved")


def test_a_newer_notice_reopens_a_resolved_case(engine: Engine, now: datetime) -> None:
    again = follow_up("abuse-0001-again@amazon.com", SENT + timedelta(days=3))
    case_id = triage(engine, now, mail_bytes(NOTICE), mail_bytes("abuse-resolved.eml"), again)[2].case_id
    summary = get_case(engine, case_id or 0).summary
    assert (summary.stage, summary.status) == ("notice", "new")


def test_the_same_message_twice_changes_nothing(engine: Engine, now: datetime) -> None:
    first = triage(engine, now, mail_bytes(NOTICE))[0]
    before = (counts(engine), get_case(engine, first.case_id or 0).to_json(now))
    again = triage(engine, now + timedelta(hours=1), mail_bytes(NOTICE), mail_bytes(NOTICE))
    assert [result.duplicate for result in again] == [True, True]
    assert {result.case_id for result in again} == {first.case_id}
    assert (counts(engine), get_case(engine, first.case_id or 0).to_json(now)) == before


def test_same_health_event_twice_changes_nothing(engine: Engine, now: datetime) -> None:
    raw = (HEALTH / "risk-credentials-exposed.json").read_bytes()
    item = RawItem("risk.json", None, json.dumps(json.loads(raw)).encode(), "health")
    first = list(Triage(engine, now=lambda: now).run([item]))
    before = counts(engine)
    second = list(Triage(engine, now=lambda: now).run([item]))
    assert second[0].duplicate and second[0].case_id == first[0].case_id
    assert counts(engine) == before


def test_timeline_is_append_only(engine: Engine, now: datetime) -> None:
    case_id = triage(engine, now, mail_bytes(NOTICE))[0].case_id or 0
    first = get_case(engine, case_id).timeline
    triage(engine, now, REMINDER, FINAL)
    app = make_app(engine, now)
    key = get_case(engine, case_id).checklist[0].key
    CliRunner().invoke(cli, ["case", "check", str(case_id), key, "--by", "alice"], obj=app)
    later = get_case(engine, case_id).timeline
    assert later[: len(first)] == first
    assert [event.type for event in later] == ["notice-received"] * 3 + ["checklist"]


def test_case_check_ticks_an_item_and_records_who(engine: Engine, now: datetime) -> None:
    case_id = triage(engine, now, mail_bytes(NOTICE))[0].case_id or 0
    key = get_case(engine, case_id).checklist[0].key
    app = make_app(engine, now)
    result = CliRunner().invoke(cli, ["case", "check", str(case_id), key, "--by", "alice"], obj=app)
    assert (result.exit_code, result.stdout) == (0, f"case {case_id}: {key} done by alice\n")
    detail = get_case(engine, case_id)
    item = next(item for item in detail.checklist if item.key == key)
    assert (item.done_at, item.done_by) == (now, "alice")
    assert (detail.timeline[-1].type, detail.timeline[-1].actor) == ("checklist", "alice")
    missing = CliRunner().invoke(cli, ["case", "check", str(case_id), "no-such-step"], obj=app)
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"error: case {case_id} has no checklist item 'no-such-step'")


def test_cases_json_is_sorted_by_nearest_deadline_with_time_left(engine: Engine, now: datetime) -> None:
    names = [
        "ses-vulnerable-site.eml",
        NOTICE,
        "account-hold.eml",
        "compromised-subject.eml",
        "ses-complaint-subject.eml",
    ]
    triage(engine, now, *(mail_bytes(name) for name in names))
    result = CliRunner().invoke(cli, ["cases", "--json"], obj=make_app(engine, now))
    assert result.exit_code == 0
    board = [json.loads(line) for line in result.stdout.splitlines()]
    deadlines = [datetime.fromisoformat(case["next_deadline"]) for case in board if case["next_deadline"]]
    assert deadlines == sorted(deadlines)
    assert board[-1]["next_deadline"] is None  # the complaint review has no clock: last
    for case in board[:-1]:
        left = datetime.fromisoformat(case["next_deadline"]) - now
        assert case["seconds_left"] == int(left.total_seconds())
    assert board[0]["kind"] == "abuse-report"  # 2026-11-28 03:00, already overdue
    assert board[0]["seconds_left"] == -9 * 3600
    assert [case.id for case in list_cases(engine)] == [case["id"] for case in board]


def test_case_show_json_and_text(engine: Engine, now: datetime) -> None:
    case_id = triage(engine, now, mail_bytes(NOTICE))[0].case_id
    app = make_app(engine, now)
    shown = json.loads(CliRunner().invoke(cli, ["case", "show", str(case_id), "--json"], obj=app).stdout)
    assert shown["facts"]["instance_ids"] == ["i-0a1b2c3d4e5f60718"]
    assert shown["timeline"][0]["type"] == "notice-received"
    assert shown["checklist"]
    text = CliRunner().invoke(cli, ["case", "show", str(case_id)], obj=app)
    assert f"Case #{case_id}" in text.stdout and "overdue 9h 00m" in text.stdout
    key_case = triage(engine, now, mail_bytes("compromised-subject.eml"))[0].case_id
    shown_key = CliRunner().invoke(cli, ["case", "show", str(key_case)], obj=app).stdout
    assert "AKIA…9986" in shown_key and "AKIA2E0A8F3B244C9986" not in shown_key  # masked for people
    missing = CliRunner().invoke(cli, ["case", "show", "999"], obj=app)
    assert (missing.exit_code, missing.stderr) == (2, "error: no case 999\n")


def test_a_crafted_over_long_message_id_is_stored(engine: Engine, now: datetime) -> None:
    raw = mail_bytes(NOTICE).replace(b"<abuse-0001@amazon.com>", b"<" + b"x" * 400 + b"@amazon.com>")
    result = triage(engine, now, raw, raw)
    assert result[0].case_id is not None and result[1].duplicate


def test_a_nul_decoded_from_a_header_or_body_is_stored_on_every_store(engine: Engine, now: datetime) -> None:
    """An encoded word or a quoted-printable =00 decodes to NUL, which PostgreSQL's text refuses:
    it is shown as U+FFFD, and the mail (and the batch around it) is stored."""
    raw = (
        b"From: AWS <no-reply-aws@amazon.com>\nMessage-ID: <nul-1@example.org>\n"
        b"Subject: =?utf-8?q?Your_AWS_Account_123456789012_is_Compromised=00?=\n"
        b"Date: Mon, 23 Nov 2026 00:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n"
        b"AWS Account 123456789012: the key AKIAABCDEFGHIJKLMNOP=00 was found online.\n"
    )
    other = mail_bytes("abuse-subject-portscan.eml")
    items = [RawItem("nul.eml", None, raw, "mail"), RawItem("next.eml", None, other, "mail")]
    first, second = list(Triage(engine, now=lambda: now).run(items))
    assert first.error is None and first.case_id is not None and second.case_id is not None
    assert first.notice is not None and first.notice.title.endswith("Compromised\ufffd")
    with engine.connect() as connection:
        subjects = connection.execute(select(messages.c.subject).order_by(messages.c.id)).scalars().all()
    assert subjects[0] == "Your AWS Account 123456789012 is Compromised\ufffd" and len(subjects) == 2


def test_an_input_the_store_refuses_costs_only_itself(engine: Engine, now: datetime) -> None:
    """A library caller's source name no store takes (a NUL, a lone surrogate): the batch is stored
    input by input, and the refused one is kept as an unreadable input with its raw bytes."""
    good, spam = mail_bytes("abuse-subject-portscan.eml"), mail_bytes("abuse-body-spam.eml")
    odd = b"From: AWS <no-reply-aws@amazon.com>\nSubject: hello\nMessage-ID: <odd@x>\n\nhi\n"
    items = [
        RawItem("good.eml", None, good, "mail"),
        RawItem("bad\x00\udcffname.eml", None, odd, "mail"),
        RawItem("spam.eml", None, spam, "mail"),
    ]
    first, refused, third = list(Triage(engine, now=lambda: now).run(items))
    assert first.case_id is not None and third.case_id is not None and first.case_id != third.case_id
    assert refused.error is not None and refused.error.startswith("not stored as read: the store refused it")
    assert refused.source == "bad\ufffd\\xffname.eml" and refused.case_id is None
    with engine.connect() as connection:
        rows = connection.execute(select(messages.c.source, messages.c.raw, messages.c.error)).all()
    assert len(rows) == 3
    kept = next(row for row in rows if row.error)
    assert kept.source == "bad\ufffd\\xffname.eml" and bytes(kept.raw) == odd
