"""The suppression verdict of an address (docs/ses-feedback.md). Pure: events in, a verdict out.

The verdict is a function of the *set* of an address's events, so the order in which feedback
arrives, and how often it is redelivered, cannot change it.

- Permanent ``General`` / ``NoEmail`` bounces and complaints: suppressed for good.
- ``Permanent/Suppressed``, ``OnAccountSuppressionList`` (bounce or complaint): SES already
  blocks the address; kept suppressed here, no new SES call needed.
- A complaint with feedback type ``not-spam`` is recorded, never a reason to stop.
- Transient bounces are counted: ``transient_limit`` within ``transient_window`` (or
  ``mailbox_full_limit`` MailboxFull within ``mailbox_full_window``) suppress the address until
  ``transient_expiry`` after the bounce that completed the run.
- ``Undetermined`` bounces flag the address; ``undetermined_escalate_after`` of them within
  ``transient_window`` suppress it as soft bounces do (until ``transient_expiry`` after the last
  of the run): SES could not say why, and an address that keeps failing so is not reached.
- ``MessageTooLarge``, ``ContentRejected``, ``AttachmentRejected``, rejects and rendering
  failures are content problems: they say nothing about the address.
- ``DeliveryDelay`` never suppresses.

What each bounce and complaint type means: docs/aws-facts.md, 3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from noticedesk.config import SesConfig
from noticedesk.feedback.events import FeedbackEvent

CONTENT_SUB_TYPES = frozenset({"MessageTooLarge", "ContentRejected", "AttachmentRejected"})
SOURCE_IDS_KEPT = 20


class Treatment(StrEnum):
    SUPPRESS = "suppress"
    ALREADY_AT_SES = "already-at-ses"
    SOFT = "soft"
    MAILBOX_FULL = "mailbox-full"
    UNDETERMINED = "undetermined"
    CONTENT = "content"
    RECORD = "record"
    NONE = "none"


def treatment(event: FeedbackEvent) -> Treatment:
    if event.event_type == "complaint":
        if event.complaint_sub_type == "OnAccountSuppressionList":
            return Treatment.ALREADY_AT_SES
        if (event.complaint_type or "").lower() == "not-spam":
            return Treatment.RECORD
        return Treatment.SUPPRESS
    if event.event_type in ("reject", "rendering-failure"):
        return Treatment.CONTENT
    if event.event_type != "bounce":
        return Treatment.NONE  # sends, deliveries, opens, clicks and delivery delays
    kind, sub = event.bounce_type or "Undetermined", event.bounce_sub_type or ""
    if sub in CONTENT_SUB_TYPES:
        return Treatment.CONTENT
    if kind == "Permanent":
        if sub in ("Suppressed", "OnAccountSuppressionList"):
            return Treatment.ALREADY_AT_SES
        return Treatment.SUPPRESS
    if kind == "Transient":
        return Treatment.MAILBOX_FULL if sub == "MailboxFull" else Treatment.SOFT
    return Treatment.UNDETERMINED


_DEFAULTS = SesConfig()  # one source for the defaults: the configuration's


@dataclass(frozen=True)
class PolicySettings:
    transient_limit: int = _DEFAULTS.transient_limit
    transient_window: timedelta = timedelta(days=_DEFAULTS.transient_window_days)
    mailbox_full_limit: int = _DEFAULTS.mailbox_full_limit
    mailbox_full_window: timedelta = timedelta(days=_DEFAULTS.mailbox_full_window_days)
    transient_expiry: timedelta = timedelta(days=_DEFAULTS.transient_expiry_days)
    undetermined_escalate_after: int = _DEFAULTS.undetermined_escalate_after

    @classmethod
    def from_config(cls, config: SesConfig) -> PolicySettings:
        return cls(
            transient_limit=config.transient_limit,
            transient_window=timedelta(days=config.transient_window_days),
            mailbox_full_limit=config.mailbox_full_limit,
            mailbox_full_window=timedelta(days=config.mailbox_full_window_days),
            transient_expiry=timedelta(days=config.transient_expiry_days),
            undetermined_escalate_after=config.undetermined_escalate_after,
        )


@dataclass(frozen=True)
class AddressVerdict:
    """An address's row of the suppression list as its events decide it (``feedback/suppressions.py``
    ``COLUMNS``, in that order, but ``synced_at``, which only a sync to SES sets)."""

    address: str
    suppressed: bool
    """Suppressed when decided; ``expires_at`` (if set) lifts it: see ``in_force``."""
    reason: str | None  # BOUNCE | COMPLAINT, as the SES suppression list names it
    cause: str | None
    expires_at: datetime | None
    flagged: bool
    first_event_at: datetime | None
    last_event_at: datetime | None
    hard_bounce_count: int
    soft_bounce_count: int
    complaint_count: int
    undetermined_count: int
    reasons: tuple[str, ...]
    source_message_ids: tuple[str, ...]
    at_ses: bool


def in_force(suppressed: bool, expires_at: datetime | None, now: datetime) -> bool:
    """A suppression we decided holds until it expires (a soft-bounce one does; others never)."""
    return suppressed and (expires_at is None or now < expires_at)


def decide(address: str, events: Iterable[FeedbackEvent], settings: PolicySettings) -> AddressVerdict:
    """The verdict for one address from all its bounce and complaint events (duplicates ignored)."""
    # The dedupe key hashes (feedback key, address), and the address is fixed here: the feedback
    # key alone tells duplicates apart, without hashing every event of the history again.
    unique = {event.feedback_key: event for event in events if event.address == address}
    by_treatment: dict[Treatment, list[FeedbackEvent]] = {}
    relevant: list[FeedbackEvent] = []
    for event in unique.values():
        kind = treatment(event)
        by_treatment.setdefault(kind, []).append(event)
        if kind is not Treatment.NONE:
            relevant.append(event)
    suppressing = by_treatment.get(Treatment.SUPPRESS, [])
    at_ses = by_treatment.get(Treatment.ALREADY_AT_SES, [])
    complaints = [event for event in suppressing + at_ses if event.event_type == "complaint"]
    soft = by_treatment.get(Treatment.SOFT, [])
    full = by_treatment.get(Treatment.MAILBOX_FULL, [])
    undetermined = by_treatment.get(Treatment.UNDETERMINED, [])
    soft_until = _latest_run_end(
        [event.occurred_at for event in soft], settings.transient_limit, settings.transient_window
    )
    full_until = _latest_run_end(
        [event.occurred_at for event in full], settings.mailbox_full_limit, settings.mailbox_full_window
    )
    run_ends = [end for end in (soft_until, full_until) if end is not None]
    undetermined_until = _latest_run_end(
        [event.occurred_at for event in undetermined],
        settings.undetermined_escalate_after,
        settings.transient_window,
    )
    reason: str | None = None
    cause: str | None = None
    expires_at: datetime | None = None
    if complaints:
        reason, cause = "COMPLAINT", "complaint"
    elif any(event.event_type == "bounce" for event in suppressing):
        reason, cause = "BOUNCE", "permanent-bounce"
    elif at_ses:
        reason, cause = "BOUNCE", "ses-suppressed"
    elif run_ends or undetermined_until:
        reason = "BOUNCE"
        cause = "repeated-soft-bounce" if run_ends else "repeated-undetermined-bounce"
        ends = [*run_ends, *([undetermined_until] if undetermined_until else [])]
        expires_at = max(ends) + settings.transient_expiry
    times = [event.occurred_at for event in relevant]
    source_ids = sorted(
        {
            source
            for event in relevant
            if (source := event.sns_message_id or event.ses_message_id or event.feedback_id)
        }
    )
    return AddressVerdict(
        address=address,
        suppressed=reason is not None,
        reason=reason,
        cause=cause,
        expires_at=expires_at,
        flagged=bool(undetermined),
        first_event_at=min(times) if times else None,
        last_event_at=max(times) if times else None,
        hard_bounce_count=sum(1 for event in suppressing + at_ses if event.event_type == "bounce"),
        soft_bounce_count=len(soft) + len(full),
        complaint_count=sum(1 for event in relevant if event.event_type == "complaint"),
        undetermined_count=len(undetermined),
        reasons=tuple(sorted({_reason_text(event) for event in relevant})),
        source_message_ids=tuple(source_ids[:SOURCE_IDS_KEPT]),
        at_ses=bool(at_ses),
    )


def _latest_run_end(times: list[datetime], limit: int, window: timedelta) -> datetime | None:
    """The latest time at which ``limit`` events had happened within ``window``; None if never."""
    if limit < 1 or len(times) < limit:
        return None
    ordered = sorted(times)
    ends = [
        ordered[index]
        for index in range(limit - 1, len(ordered))
        if ordered[index] - ordered[index - limit + 1] <= window
    ]
    return max(ends) if ends else None


def _reason_text(event: FeedbackEvent) -> str:
    if event.event_type == "complaint":
        return f"Complaint/{event.complaint_sub_type or event.complaint_type or 'unspecified'}"
    if event.event_type == "bounce":
        return f"{event.bounce_type or 'Undetermined'}/{event.bounce_sub_type or 'Undetermined'}"
    return event.event_type
