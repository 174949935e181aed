"""Helpers for the reply tests: filed through the real triage pipeline from fixture mails, then given
findings rows and action-* timeline events the way diagnosis and fixes record them (contracts in
BRIEF/DESIGN). Golden files: set NOTICEDESK_UPDATE_GOLDENS=1 to rewrite them from the current output.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from noticedesk.aws.checks.catalogue import BY_ID
from noticedesk.aws.findings import mask_key
from noticedesk.cases import filing as filing_module  # where triage reads the runbook checklist
from noticedesk.cases.runbooks import Step
from noticedesk.cases.timeline import record
from noticedesk.mail.readers import read_sources
from noticedesk.replies.gather import ReplyContext
from noticedesk.store.tables import findings
from noticedesk.timetext import JST
from noticedesk.triage import Triage

DATA = Path(__file__).parent.parent / "data" / "replies"
KINDS = (
    "account-compromised",
    "abuse-report",
    "ses-vulnerable-site",
    "ses-bounce",
    "ses-complaint",
    "ses-review",
    "account-hold",
)
TRIAGED_AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def file_case(engine: Engine, *mails: str, at: datetime = TRIAGED_AT) -> int:
    """Triage fixture mails (names under tests/data/replies) and return the one case they form."""
    results = list(Triage(engine, now=lambda: at).run(read_sources([str(DATA / name) for name in mails])))
    case_ids = {result.case_id for result in results}
    assert len(case_ids) == 1 and None not in case_ids, [result.to_json() for result in results]
    return int(next(iter(case_ids)))  # type: ignore[arg-type]


def add_findings(engine: Engine, case_id: int, rows: list[dict[str, Any]], at: datetime) -> str:
    """One diagnosis run: findings rows and the `diagnosis` timeline event, as diagnose records them."""
    run_id = uuid.uuid4().hex
    with engine.begin() as connection:
        for row in rows:
            connection.execute(
                insert(findings).values(
                    run_id=run_id,
                    case_id=case_id,
                    check=row["check"],
                    status=row["status"],
                    severity=row.get("severity", "high"),
                    account_id=row.get("account_id", "111122223333"),
                    region=row.get("region"),
                    resource_id=row.get("resource_id"),
                    detail=row["detail"],
                    data={"resource_type": row.get("resource_type", "account")},
                    found_at=at,
                )
            )
        counts = {
            status: sum(1 for row in rows if row["status"] == status) for status in ("fail", "error", "pass")
        }
        record(
            connection, case_id, at, "diagnosis", f"diagnosis: {counts}", {"run_id": run_id, "counts": counts}
        )
    return run_id


def add_action(
    engine: Engine,
    case_id: int,
    at: datetime,
    action: str,
    resource_id: str | None,
    region: str | None,
    event: str = "action-applied",
    verified: bool = True,
    action_id: str | None = None,
) -> str:
    """An action-* timeline event with the detail the fixes feature records."""
    action_id = action_id or uuid.uuid4().hex[:12]
    with engine.begin() as connection:
        record(
            connection,
            case_id,
            at,
            event,
            f"{event.removeprefix('action-')}: {action} {resource_id}",
            {
                "action_id": action_id,
                "action": action,
                "resource_id": resource_id,
                "region": region,
                "account_id": "111122223333",
                "calls": [],
                "before": {},
                "after": {},
                "verified": verified,
                "override": None,
            },
            actor="fixture",
        )
    return action_id


@dataclass(frozen=True)
class Scenario:
    kind: str
    data: dict[str, Any]


def load_scenario(kind: str) -> Scenario:
    data = tomllib.loads((DATA / "scenarios" / f"{kind}.toml").read_text("utf-8"))
    unknown = {row["check"] for row in data.get("findings", [])} - set(BY_ID)
    assert not unknown, f"scenario {kind} names checks the catalogue lacks: {sorted(unknown)}"
    return Scenario(kind, data)


def build_scenario(engine: Engine, scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> int:
    """A case as the scenario file describes it. Its checklist comes from the scenario, not the
    runbooks, so a golden file pins the reply's shape and not the runbook's wording."""
    steps = [Step(item["key"], item["en"], item["ja"]) for item in scenario.data.get("checklist", [])]
    monkeypatch.setattr(filing_module, "checklist_for", lambda kind, abuse_types=(): steps)
    case_id = file_case(engine, *scenario.data["mails"])
    if "findings" in scenario.data:
        add_findings(engine, case_id, scenario.data["findings"], scenario.data["diagnosed_at"])
    for action in scenario.data.get("action", []):
        add_action(
            engine,
            case_id,
            action["at"],
            action["action"],
            action.get("resource_id"),
            action.get("region"),
            event=action.get("event", "action-applied"),
            verified=action.get("verified", True),
            action_id=action.get("action_id"),
        )
    from noticedesk.cases.queries import check_item

    for key in scenario.data.get("done", []):
        check_item(engine, case_id, key, "fixture", scenario.data.get("diagnosed_at", TRIAGED_AT))
    return case_id


# --- nothing invented: the tokens a reply or summary may show are those the case holds -------

ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|\b(?:AKIA|ASIA)…[A-Z0-9]{4}\b")
INSTANCE = re.compile(r"\bi-[0-9a-f]{8,17}\b")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
JAPAN_TIME = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日 (\d{2}):(\d{2})（日本時間）")


def _allowed(context: ReplyContext) -> set[str]:
    """Every token of the kinds checked that the case holds, in the forms output may show."""
    texts = [repr(context.facts), repr(context.case)]
    texts += [row.detail + " " + (row.resource_id or "") for row in context.findings]
    texts += [f"{a.resource_id} {a.account_id}" for a in context.actions]
    allowed: set[str] = set()
    for text in texts:
        for pattern in (ACCOUNT, INSTANCE):
            allowed |= set(pattern.findall(text))
        for key in KEY.findall(text):
            allowed |= {key, mask_key(key)}
    moments = [
        context.case.reply_by,
        context.case.enforcement_at,
        context.case.opened_at,
        context.facts.abuse_time,
    ]
    moments += [event.at for event in context.timeline] + [a.at for a in context.actions]
    moments += [n.sent_at for n in context.notices] + [n.received_at for n in context.notices]
    allowed |= {m.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for m in moments if m}
    return allowed


def assert_nothing_invented(text: str, context: ReplyContext, to_aws: bool = False) -> None:
    """Every account id, key id, instance id and time in ``text`` is one the case holds; key ids
    are masked, except in the body of a reply to AWS (``to_aws``), which names the key AWS named."""
    allowed = _allowed(context)
    for pattern in (ACCOUNT, KEY, INSTANCE, TIME):
        for token in pattern.findall(text):
            assert token in allowed, f"{token!r} is not in the case"
    for match in JAPAN_TIME.finditer(text):
        year, month, day, hour, minute = (int(part) for part in match.groups())
        local = datetime(year, month, day, hour, minute, tzinfo=JST)
        assert local.astimezone(UTC).strftime("%Y-%m-%d %H:%M") in allowed, f"{match[0]!r} is not in the case"
    for key in context.facts.access_key_ids:
        assert to_aws or key not in text, "an access key id appears unmasked"
    for key in KEY.findall(text):
        assert "…" in key or key in context.facts.access_key_ids, f"{key} is unmasked and AWS did not name it"
