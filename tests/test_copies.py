"""A truncated copy that arrived first does not hide the full notice (same Message-ID, other bytes)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dkimkit import keys_file, sign
from sqlalchemy import Engine, select
from triage_helpers import mail_bytes

from noticedesk.cases.queries import get_case
from noticedesk.config import Config, DkimConfig
from noticedesk.mail.readers import RawItem
from noticedesk.store.tables import messages
from noticedesk.triage import Triage, TriageResult

FULL = mail_bytes("abuse-subject-portscan.eml").replace(b"\r\n", b"\n")
TRUNCATED = FULL.split(b"Instance Id:")[0]  # cut before the instance, IP and port
MORE = "more complete copy of the notice"


def triage(
    engine: Engine, now: datetime, raw: bytes, name: str, config: Config | None = None
) -> TriageResult:
    (result,) = Triage(engine, config or Config(), lambda: now).run([RawItem(name, None, raw, "mail")])
    return result


def test_the_full_copy_after_a_truncated_one_adds_its_facts(engine: Engine, now: datetime) -> None:
    first = triage(engine, now, TRUNCATED, "truncated.eml")
    assert first.case_id is not None and first.notice is not None
    assert first.notice.facts.instance_ids == ()
    full = triage(engine, now, FULL, "full.eml")
    assert (full.case_id, full.duplicate) == (first.case_id, False)
    case = get_case(engine, first.case_id)
    assert case.facts.instance_ids == ("i-0a1b2c3d4e5f60718",)
    assert "54.250.10.20" in case.facts.ip_addresses and 22 in case.facts.ports
    (event,) = [event for event in case.timeline if event.summary.startswith(MORE)]
    assert event.detail["added"]["instance_ids"] == ["i-0a1b2c3d4e5f60718"]
    again = triage(engine, now, FULL, "full-again.eml")  # identical bytes: a duplicate
    assert again.duplicate and again.case_id == first.case_id
    with engine.connect() as connection:
        assert len(connection.execute(select(messages.c.id)).all()) == 2
    assert len([event for event in get_case(engine, first.case_id).timeline if MORE in event.summary]) == 1


def test_both_copies_in_one_batch(engine: Engine, now: datetime) -> None:
    items = [RawItem("t.eml", None, TRUNCATED, "mail"), RawItem("f.eml", None, FULL, "mail")]
    first, full = Triage(engine, Config(), lambda: now).run(items)
    assert first.case_id is not None and full.case_id == first.case_id and not full.duplicate
    assert get_case(engine, first.case_id).facts.instance_ids == ("i-0a1b2c3d4e5f60718",)


def test_a_forged_fuller_copy_adds_nothing_to_a_verified_case(
    engine: Engine, now: datetime, tmp_path: Path
) -> None:
    config = Config(dkim=DkimConfig(keys_file=keys_file(tmp_path / "keys", "s1._domainkey.amazon.com")))
    genuine = sign(TRUNCATED.replace(b"\n", b"\r\n"), "amazon.com")
    first = triage(engine, now, genuine, "genuine.eml", config)
    assert first.notice is not None and first.notice.authenticity.value == "verified"
    assert first.case_id is not None
    forged = FULL.replace(b"i-0a1b2c3d4e5f60718", b"i-0ffffffffffffffff")  # no signature: unverified
    result = triage(engine, now, forged, "forged.eml", config)
    assert result.notice is not None and result.notice.authenticity.value == "unverified"
    case = get_case(engine, first.case_id)
    assert case.facts.instance_ids == ()
    (event,) = [event for event in case.timeline if MORE in event.summary]
    assert "not_applied" in event.detail


def test_a_full_copy_opens_the_case_its_truncated_copy_could_not(engine: Engine, now: datetime) -> None:
    full = mail_bytes("compromised-subject.eml").replace(b"\r\n", b"\n")
    head = [line for line in full.split(b"\n")[:6] if not line.startswith(b"Subject:")]
    stub = b"\n".join(head) + b"\n\nHello,\n"  # a generic sender, nothing that makes it a notice
    first = triage(engine, now, stub, "stub.eml")
    assert first.notice is not None and first.notice.kind.value == "aws-other" and first.case_id is None
    copy = triage(engine, now, full, "full.eml")
    assert copy.case_id is not None and not copy.duplicate
    assert get_case(engine, copy.case_id).facts.access_key_ids == ("AKIA2E0A8F3B244C9986",)
