"""Facts from a notice's text: generic over the patterns in the rule table, typed here."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache

from noticedesk.notices.model import Cue, Decision, Facts
from noticedesk.notices.needles import Text, matches_from
from noticedesk.notices.rules import RuleTable

_REGION_CODE = re.compile(
    r"\b((?:us-gov|us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:north|south|east|west|central|"
    r"northeast|southeast|northwest|southwest)-\d)\b"
)
# Every region code holds "-north", "-south", "-east", "-west" or "-central" right after its
# prefix ("us-gov" or two letters): found with a literal-prefix scan, the codes are tried there.
_REGION_DIRECTION = re.compile(r"-(?:north|south|east|west|central)")
_REGION_PREFIX_LENGTHS = (2, 6)
_DIGITS = re.compile(r"\d+")
_MASKED = re.compile(r"^[x*#•]+$|(?:xxx|\*\*\*)", re.IGNORECASE)
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %Z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d %b %Y %H:%M:%S %Z",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%a, %d %b %Y %H:%M:%S %Z",
    "%Y年%m月%d日",
)


@lru_cache(maxsize=1024)  # strptime raises through up to 34 formats; dates repeat across notices
def parse_loose_date(text: str) -> datetime | None:
    """A date as notices write it ("2024-06-18", "09/27/2026", "27 Apr 2023 14:46:47 GMT")."""
    cleaned = " ".join(text.replace(" at ", " ").split()).rstrip(".,;")
    cleaned = re.sub(r"\s*\((?:UTC|GMT)\)$", " UTC", cleaned)
    for candidate in (cleaned, re.sub(r"\s+(?:UTC|GMT|Z)$", "", cleaned)):
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(candidate, fmt)
            except ValueError:
                continue
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def flatten(text: str) -> str:
    """The text with every run of whitespace (line breaks included) as one space."""
    return " ".join(text.split())


_last_flat: tuple[RuleTable | None, str, Text | None] = (None, "", None)


def flat_text(table: RuleTable, text: str) -> Text:
    """The flattened text, ready for the table's patterns.

    Classification and ``within_hours`` read the same body one after the other: the last one is
    kept, with the scanner's answers about it (one scan of the body, not two).
    """
    global _last_flat
    last_table, last_text, last_flat = _last_flat
    if last_flat is not None and last_table is table and last_text is text:
        return last_flat
    flat = table.text(flatten(text), "body")
    _last_flat = (table, text, flat)
    return flat


def _masked(value: str) -> bool:
    return bool(_MASKED.search(value))


def _found(table: RuleTable, name: str, text: Text) -> list[str]:
    values: list[str] = []
    for pattern in text.candidates(table.facts.get(name, ())):
        for found in pattern.values(text):
            value = found.strip()
            if value and not _masked(value):
                values.append(value)
    return list(dict.fromkeys(values))


def _first(
    table: RuleTable, name: str, text: Text, accept: Callable[[str], object] | None = None
) -> str | None:
    """``_found(...)[0]`` (of the values ``accept`` takes), without running the later patterns once
    an earlier one has a value: the last-resort patterns (a case reference named bare) are slow."""
    for pattern in text.candidates(table.facts.get(name, ())):
        for found in pattern.values(text):
            value = found.strip()
            if value and not _masked(value) and (accept is None or accept(value)):
                return value
    return None


def _public_ips(candidates: Iterable[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        kept.append(str(address))
    return tuple(dict.fromkeys(kept))


def region_codes(text: str) -> list[str]:
    """The region codes in the text, as ``_REGION_CODE.finditer`` finds them (faster)."""
    starts = {
        direction.start() - length
        for direction in _REGION_DIRECTION.finditer(text)
        for length in _REGION_PREFIX_LENGTHS
    }
    return [match.group(1) for match in matches_from(_REGION_CODE, text, starts)]


def _regions(table: RuleTable, text: Text) -> tuple[str, ...]:
    found = [code.lower() for code in region_codes(text.value)]
    found += [
        table.region_names[name] for name in text.candidates(tuple(table.region_names)) if name.found(text)
    ]
    return tuple(dict.fromkeys(found))


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


def _date(value: str | None) -> datetime | None:
    return None if value is None else parse_loose_date(value)


def _first_date(values: list[str]) -> datetime | None:
    for value in values:
        parsed = parse_loose_date(value)
        if parsed is not None:
            return parsed
    return None


def within_hours(table: RuleTable, text: str) -> int | None:
    values = _found(table, "within_hours", flat_text(table, text))
    return int(values[0]) if values else None


_VICTIM_WORDS = ("remote ip", "destination", "victim", "target")


def _not_aws_owned_ip(value: str, text: Text) -> bool:
    """Victims' addresses ("Remote IP", "destination") are not the reported resource."""
    if not any(word in text.folded for word in _VICTIM_WORDS):  # most notices name no victim
        return True
    return not re.search(
        rf"(remote ip|destination|victim|target)\S*\s*[:=]?\s*{re.escape(value)}\b",
        text.value,
        re.IGNORECASE,
    )


def extract_facts(
    table: RuleTable, subject: str, text: str, flat: Text | None = None, abuse: bool = True
) -> Facts:
    """Every fact the subject and body state. Pure."""
    return extract_facts_with_evidence(table, subject, text, flat, abuse)[0]


def abuse_decisions(table: RuleTable, text: Text) -> tuple[Decision, ...]:
    """Each abuse type whose cues in ``text`` reach the threshold, with its cues, in table order."""
    totals: dict[str, tuple[int, list[Cue]]] = {}
    for cue in table.abuse_types:
        if cue.pattern.found(text):
            score, cues = totals.get(cue.label, (0, []))
            cues.append(cue.cue)
            totals[cue.label] = (score + cue.weight, cues)
    threshold = table.thresholds.abuse_type
    return tuple(
        Decision(label, score, tuple(sorted(cues, key=lambda cue: -cue[1])))
        for label, (score, cues) in totals.items()
        if score >= threshold
    )


def extract_facts_with_evidence(
    table: RuleTable, subject: str, text: str, flat: Text | None = None, abuse: bool = True
) -> tuple[Facts, tuple[Decision, ...], bool]:
    """Every fact the subject and body state, the abuse types' cues, and whether those were read
    from the lines that name the activity. Pure.

    Facts whose value runs to the end of a line (abuse context, abuse time) or stands on a line
    of its own (IP addresses) are read from the text as written; every other fact from the
    flattened text, so a line break that wrapping put inside "bounce rate is" is no obstacle.
    ``abuse=False`` skips abuse types (classify keeps them for abuse reports only).
    """
    flat = flat_text(table, text) if flat is None else flat  # the caller may have it already
    flat_both = table.text(f"{subject} {flat.value}", "subject+body")
    original = table.text(text, "lines")
    account_id = _first(table, "account_id", flat_both, lambda value: len(value) == 12)
    ips = [value for value in _found(table, "ip_addresses", original) if _not_aws_owned_ip(value, original)]
    ports = sorted(
        {
            int(port)
            for value in _found(table, "ports", flat)
            for port in _DIGITS.findall(value)
            if 0 < int(port) < 65536
        }
    )
    decisions: tuple[Decision, ...] = ()
    context = ""
    if abuse:
        both = table.text(f"{subject}\n{text}", "context")
        context = "\n".join(_found(table, "abuse_context", both))
        decisions = abuse_decisions(table, table.text(context, "context") if context else flat_both)
    facts = Facts(
        account_id=account_id,
        case_ref=_first(table, "case_ref", flat_both),
        access_key_ids=tuple(value.upper() for value in _found(table, "access_key_ids", flat_both)),
        iam_users=tuple(_found(table, "iam_users", flat)),
        exposed_urls=tuple(value.rstrip(".,;)") for value in _found(table, "exposed_urls", flat)),
        instance_ids=tuple(value.lower() for value in _found(table, "instance_ids", flat_both)),
        ip_addresses=_public_ips(ips),
        ports=tuple(ports),
        regions=_regions(table, flat),
        abuse_types=tuple(decision.value for decision in decisions),
        abuse_time=_first_date(_found(table, "abuse_time", original)),
        bounce_rate=_float(_first(table, "bounce_rate", flat_both)),
        complaint_rate=_float(_first(table, "complaint_rate", flat_both)),
        reply_by=_date(_first(table, "reply_by", flat, parse_loose_date)),
        mitigations=tuple(entry.label for entry in table.mitigations if entry.pattern.found(flat)),
    )
    return facts, decisions, bool(context)
