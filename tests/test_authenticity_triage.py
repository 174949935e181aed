"""End to end: triage with a pinned keys file files a verified case; the reasons reach the
store, ``triage --json`` and ``case show``; the SNS scam opens no case."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from dkimkit import fixture, keys_file, sign
from sqlalchemy import Engine, select

from noticedesk.cases.queries import get_case
from noticedesk.cli import cli
from noticedesk.config import Config, DkimConfig
from noticedesk.mail.readers import RawItem
from noticedesk.store.tables import cases, messages
from noticedesk.triage import Triage


def _config(tmp_path: Path) -> Config:
    path = keys_file(
        tmp_path / "dkim-keys.txt", "s1._domainkey.amazon.com", "s1._domainkey.sns.amazonaws.com"
    )
    return Config(dkim=DkimConfig(keys_file=path))


def test_triage_with_pinned_keys_files_a_verified_case(engine: Engine, tmp_path: Path, now: datetime) -> None:
    items = [
        RawItem("notice.eml", None, sign(fixture("compromised.eml"), "amazon.com"), "mail"),
        RawItem("sns.eml", None, sign(fixture("sns-scam.eml"), "sns.amazonaws.com"), "mail"),
        RawItem("phish.eml", None, fixture("lookalike.eml"), "mail"),
    ]
    notice, sns, phish = list(Triage(engine, _config(tmp_path), lambda: now).run(items))
    assert notice.notice is not None and notice.case_id is not None
    assert notice.notice.authenticity.value == "verified"
    assert sns.notice is not None and sns.notice.kind.value == "aws-other" and sns.case_id is None
    assert phish.notice is not None and phish.notice.authenticity.value == "suspicious"
    assert phish.notice.kind.opens_case and phish.case_id is None  # a case kind, not filed
    # ... and no clock: a fake mail must not look urgent (its own words stay as reply_by_stated)
    assert phish.clocks is None
    assert phish.to_json()["reply_by"] is None and phish.to_json()["enforcement_at"] is None
    assert notice.clocks is not None and notice.to_json()["reply_by"] is not None
    with engine.connect() as connection:
        assert connection.execute(select(cases.c.authenticity)).scalars().all() == ["verified"]
        stored = connection.execute(
            select(messages.c.authenticity_reasons).where(messages.c.case_id == notice.case_id)
        ).scalar_one()
    assert stored[0]["code"] == "dkim-aligned" and stored[0]["ja"]
    detail = get_case(engine, notice.case_id)
    assert [m.authenticity for m in detail.message_verdicts] == ["verified"]


def test_cli_shows_verdict_and_reasons(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / "config.toml").write_text(
        f'[dkim]\nkeys_file = "{config.dkim.keys_file}"\n', encoding="utf-8"
    )
    mail = tmp_path / "notice.eml"
    mail.write_bytes(sign(fixture("compromised.eml"), "amazon.com"))
    base = ["--db", f"sqlite:///{tmp_path / 'nd.db'}", "--config", str(tmp_path / "config.toml")]
    runner = CliRunner()
    triaged = runner.invoke(cli, [*base, "triage", "--json", str(mail)])
    assert triaged.exit_code == 0, triaged.output
    row = json.loads(triaged.output.splitlines()[0])
    assert row["authenticity"] == "verified"
    assert row["authenticity_reasons"][0].startswith("DKIM signature of amazon.com verifies")
    assert "整合" in row["authenticity_reasons_ja"][0]
    shown = runner.invoke(cli, [*base, "case", "show", str(row["case_id"])])
    assert shown.exit_code == 0, shown.output
    assert "verified" in shown.output and "DKIM signature of amazon.com verifies" in shown.output
    shown_ja = runner.invoke(cli, [*base, "case", "show", str(row["case_id"]), "--lang", "ja"])
    assert "amazon.com の DKIM 署名が検証でき" in shown_ja.output
    as_json = json.loads(runner.invoke(cli, [*base, "case", "show", str(row["case_id"]), "--json"]).output)
    assert as_json["messages"][0]["reasons"][0]["code"] == "dkim-aligned"


def test_cli_missing_keys_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[dkim]\nkeys_file = "nowhere.txt"\n', encoding="utf-8")
    mail = tmp_path / "notice.eml"
    mail.write_bytes(fixture("compromised.eml"))
    args = ["--db", f"sqlite:///{tmp_path / 'nd.db'}", "--config", str(tmp_path / "config.toml")]
    result = CliRunner().invoke(cli, [*args, "triage", str(mail)])
    assert result.exit_code == 2
    assert "error: [dkim] keys_file nowhere.txt" in result.output


def test_a_weaker_follow_up_moves_nothing_on_a_verified_case(
    engine: Engine, tmp_path: Path, now: datetime
) -> None:
    """A forged follow-up quoting a verified case must not add keys to it, nor close it."""
    genuine = sign(fixture("compromised.eml"), "amazon.com")
    forged = (
        fixture("compromised.eml")
        .replace(b"<auth-fixture-compromised@amazon.com>", b"<forged-follow-up@amazon.com>")
        .replace(b"AKIAIOSFODNN7EXAMPLE", b"AKIAFORGEDKEY0000001")
        + b"\nThis case has been resolved. No further action is required.\n"
    )
    triage = Triage(engine, _config(tmp_path), lambda: now)
    first, second = list(
        triage.run(
            [RawItem("genuine.eml", None, genuine, "mail"), RawItem("forged.eml", None, forged, "mail")]
        )
    )
    assert second.notice is not None and second.notice.authenticity.value == "unverified"
    assert second.case_id == first.case_id
    detail = get_case(engine, first.case_id or 0)
    assert detail.facts.access_key_ids == ("AKIAIOSFODNN7EXAMPLE",)
    assert detail.summary.status != "resolved" and detail.summary.authenticity == "verified"
    kept = [event for event in detail.timeline if event.type == "notice-received"]
    assert len(kept) == 2 and "not_applied" in kept[1].detail
