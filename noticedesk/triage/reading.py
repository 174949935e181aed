"""Triage's first step, pure: one raw input understood (parsed, classified, its authenticity judged)
and keyed for the store; nothing here touches the store."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from noticedesk.authenticity import Verdict, assess
from noticedesk.authenticity.keys import KeyLookup
from noticedesk.config import Config
from noticedesk.errors import InputError, ParseError
from noticedesk.mail.forwarded import original_of
from noticedesk.mail.parse import parse_bytes
from noticedesk.mail.readers import RawItem
from noticedesk.notices.classify import classify
from noticedesk.notices.extract import within_hours
from noticedesk.notices.health import health_event_to_notice
from noticedesk.notices.model import Notice
from noticedesk.notices.rules import rule_table

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Read:
    """One input as understood, before the store is asked about it."""

    item: RawItem
    sha: str
    dedupe_key: str
    understood: Understood | None
    error: str | None


@dataclass(slots=True)
class Understood:
    notice: Notice
    within_hours: int | None = None
    warnings: tuple[str, ...] = ()
    forwarded_by: str | None = None
    from_address: str | None = None
    message_id: str | None = None
    verdict: Verdict | None = None


def read_input(item: RawItem, understand_one: Callable[[RawItem], Understood]) -> Read:
    """``item`` understood (``understand_one``) and keyed for the store; an input that cannot be read
    is kept with its error, and a bug met on it is logged: the batch goes on."""
    sha = hashlib.sha256(item.raw).hexdigest()
    understood: Understood | None = None
    error = item.error
    if error is None:
        try:
            understood = understand_one(item)
        except InputError as failure:
            error = failure.reason
        except Exception as failure:  # a bug met on this input: kept, logged, the batch goes on
            # The person sees one line (the CLI prints ``error``); the traceback is for -v.
            log.warning(
                "input not understood",
                extra={"source": item.label},
                exc_info=log.isEnabledFor(logging.INFO),
            )
            error = f"internal error while reading it ({type(failure).__name__}: {failure})"
    if error is not None:
        log.warning("input not read", extra={"source": item.label, "reason": error})
    message_id = understood.message_id if understood else None
    # A mail is the same mail by its Message-ID; a Health event is updated under one ARN,
    # so only an identical document is the same event. Over-long ids are hashed to fit. Every
    # empty file has the same bytes: an unreadable input is also known by its source.
    dedupe_key = f"sha:{sha}"
    if error is not None:  # unreadable inputs are told apart by where they came from, too
        dedupe_key = f"error:{sha_of(f'{item.label}:{sha}')}"
    elif message_id and item.format == "mail":
        dedupe_key = f"mid:{message_id}" if len(message_id) <= 250 else f"mid-sha:{sha_of(message_id)}"
    return Read(item, sha, dedupe_key, understood, error)


def understand(item: RawItem, config: Config, key_lookup: KeyLookup | None) -> Understood:
    """One input read: parsed, classified and judged for authenticity (a Health event: converted). Pure."""
    if item.format == "health":
        try:
            event = json.loads(item.raw)
        except json.JSONDecodeError as error:
            raise ParseError(item.source, f"not valid JSON: {error}", item.index) from error
        notice = health_event_to_notice(event, item.source, item.index)
        if notice.message_id:
            notice = replace(notice, thread_ids=(notice.message_id,))
        return Understood(notice, message_id=notice.message_id)
    message, outer = parse_bytes(item.raw, item.source, item.index)
    original = original_of(message, outer)
    notice = classify(original, extra_domains=tuple(config.senders.extra_domains))
    verdict = assess(item.raw, message, outer, original, notice.kind.value, config, key_lookup)
    notice = replace(
        notice,
        authenticity=verdict.authenticity,
        authenticity_reasons=verdict.reasons_en,
        authenticity_reasons_ja=verdict.reasons_ja,
        message_id=outer.message_id,
        thread_ids=outer.thread_ids,
    )
    return Understood(
        notice,
        within_hours=within_hours(rule_table(), original.text[:60_000]),
        warnings=outer.warnings + original.warnings if original is not outer else outer.warnings,
        forwarded_by=original.forwarded_by,
        from_address=original.from_address,
        message_id=outer.message_id,
        verdict=verdict,
    )


def sha_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
