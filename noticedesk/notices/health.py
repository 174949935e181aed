"""AWS Health events (EventBridge form) to the same ``Notice`` values as the mails. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from noticedesk.errors import ParseError
from noticedesk.notices.extract import extract_facts, parse_loose_date
from noticedesk.notices.model import Facts, Kind, Notice, Stage
from noticedesk.notices.rules import RuleTable, rule_table


def _description(detail: dict[str, Any]) -> str:
    descriptions = detail.get("eventDescription") or []
    for entry in descriptions:
        if isinstance(entry, dict) and str(entry.get("language", "")).startswith("en"):
            return str(entry.get("latestDescription", ""))
    return (
        str(descriptions[0].get("latestDescription", ""))
        if descriptions and isinstance(descriptions[0], dict)
        else ""
    )


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_loose_date(value.replace(",", ""))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def health_event_to_notice(
    event: object, source: str, index: int | None = None, table: RuleTable | None = None
) -> Notice:
    """Map one Health event; a document of the wrong shape raises ``ParseError``."""
    table = table or rule_table()
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise ParseError(source, "not an AWS Health event: expected an object with a 'detail' object", index)
    detail: dict[str, Any] = event["detail"]
    code = detail.get("eventTypeCode")
    if not isinstance(code, str) or not code:
        raise ParseError(source, "AWS Health event without detail.eventTypeCode", index)
    rule = next((rule for rule in table.health if code.startswith(rule.prefix)), None)
    kind = rule.kind if rule else Kind.AWS_OTHER
    raw_metadata = detail.get("eventMetadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    text = "\n".join([_description(detail), *(f"{key}: {value}" for key, value in metadata.items())])
    facts = extract_facts(table, code, text)
    resources = [str(item) for item in event.get("resources") or []]
    entities = [
        str(e.get("entityValue")) for e in detail.get("affectedEntities") or [] if isinstance(e, dict)
    ]
    scanned = extract_facts(table, "", "\n".join(resources + entities))
    account = next(
        (
            str(value)
            for value in (event.get("account"), metadata.get("accountId"))
            if isinstance(value, str | int) and len(str(value)) == 12 and str(value).isdigit()
        ),
        None,
    )
    region = detail.get("eventRegion") or event.get("region")
    reply_by = parse_loose_date(
        str(metadata.get("notifcationdateplusfour") or metadata.get("notificationdateplusfour") or "")
    )
    user = metadata.get("userName")
    url = metadata.get("exposedUrl")
    facts = replace(
        facts,
        account_id=account or facts.account_id,
        access_key_ids=tuple(dict.fromkeys((*facts.access_key_ids, *scanned.access_key_ids))),
        instance_ids=tuple(dict.fromkeys((*facts.instance_ids, *scanned.instance_ids))),
        iam_users=tuple(dict.fromkeys((*facts.iam_users, *([str(user)] if user else [])))),
        exposed_urls=tuple(dict.fromkeys((*facts.exposed_urls, *([str(url)] if url else [])))),
        regions=tuple(
            dict.fromkeys((*([str(region)] if region and region != "global" else []), *facts.regions))
        ),
        reply_by=reply_by or facts.reply_by,
        abuse_types=_abuse_types(kind, facts, rule.abuse_type if rule else None),
        case_ref=facts.case_ref,
    )
    status = str(detail.get("statusCode", "")).lower()
    return Notice(
        kind=kind,
        stage=Stage.RESOLVED if status == "closed" else Stage.NOTICE,
        facts=facts,
        rule_id=f"health:{rule.prefix}" if rule else None,
        title=f"AWS Health {code}",
        received_at=_time(event.get("time")) or _time(detail.get("startTime")),
        message_id=str(detail.get("eventArn") or event.get("id") or "") or None,
    )


def _abuse_types(kind: Kind, facts: Facts, mapped: str | None) -> tuple[str, ...]:
    if kind is not Kind.ABUSE_REPORT:
        return ()
    found = tuple(dict.fromkeys((*([mapped] if mapped else []), *facts.abuse_types)))
    return found or ("other",)
