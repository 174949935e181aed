"""Changes that tell someone: each writes its outbox rows in its own transaction, once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from test_cases import FINAL, NOTICE, REMINDER, SENT, triage
from triage_helpers import mail_bytes

from noticedesk.accounts.registry import Account, save_account
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
