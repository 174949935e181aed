"""What a case page shows, read through the use cases (cases, diagnosis, fixes, replies)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from noticedesk.accounts.registry import account_names
from noticedesk.aws.actions import mask_secrets
from noticedesk.aws.findings import mask_key
from noticedesk.cases.queries import case_messages, get_case
from noticedesk.errors import NoticeDeskError
from noticedesk.remediation.audit import ActionRecord, case_records
from noticedesk.remediation.diagnoses import latest_diagnosis
from noticedesk.replies import gather
from noticedesk.replies.compose import compose_reply
from noticedesk.replies.saved import saved_draft
from noticedesk.replies.summary import compose_summary
from noticedesk.store.tables import messages
from noticedesk.users import may

RAW_SHOWN = 256 * 1024
"""Bytes of a raw notice shown on the page (the whole mail stays in the store)."""
_STATUS_ORDER = {"fail": 0, "error": 1, "pass": 2}


def apply_blocked(authenticity: str, role: str, lang: str) -> str | None:
    """Why the apply button is disabled, in the reader's language (``None``: it is not)."""
    from noticedesk.web.render import labels

    words = labels()[lang]
    if not may(role, "admin"):
        return words["apply_needs_admin"]
    if authenticity != "verified":
        return f"{words['not_verified_reason']} ({authenticity})"
    return None


def raw_text(raw: bytes) -> str:
    text = raw[:RAW_SHOWN].decode("utf-8", "replace")
    return text + ("\n…" if len(raw) > RAW_SHOWN else "")


def case_view(engine: Engine, case_id: int, now: datetime, lang: str, role: str) -> dict[str, Any]:
    detail = get_case(engine, case_id)
    with engine.connect() as connection:
        _, found = latest_diagnosis(connection, case_id)
        records: list[ActionRecord] = case_records(connection, case_id, now)
        raw_rows = case_messages(connection, case_id, messages.c.subject, messages.c.raw)
        names = account_names(connection, [detail.summary.account_id])
    findings = sorted(found, key=lambda f: (_STATUS_ORDER.get(f.status, 3), f.check))
    context = gather(engine, case_id, detail)  # the case read once for the reply and the summary
    saved = saved_draft(engine, case_id)
    if saved is not None:
        text = saved.text
    else:
        try:
            text = compose_reply(context, now).body
        except NoticeDeskError as error:
            text = str(error)
    facts = {k: v for k, v in detail.facts.to_json().items() if v not in (None, [], "")}
    if "access_key_ids" in facts:  # for people: recognisable, not usable
        facts["access_key_ids"] = [mask_key(key) for key in facts["access_key_ids"]]
    return {
        "case": detail,
        "facts": facts,
        "findings": findings,
        "records": records,
        "saved": saved,
        "draft_text": text,
        "owner_text": compose_summary(context, "ja" if lang == "ja" else "en", now),
        "raw": [{"subject": row.subject, "text": mask_secrets(raw_text(row.raw))} for row in raw_rows],
        "account_name": names.get(detail.summary.account_id or ""),
        "may_operate": may(role, "operator"),
        "may_admin": may(role, "admin"),
        "apply_blocked": apply_blocked(detail.summary.authenticity, role, lang),
    }
