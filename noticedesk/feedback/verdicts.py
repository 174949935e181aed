"""The suppression decision (AWS-FACTS §A.4). Pure: events in, a verdict per address out.

The verdict is a function of the *set* of an address's events, so the order in which feedback
arrives, and how often it is redelivered, cannot change it.

- Permanent ``General`` / ``NoEmail`` bounces and complaints: suppressed for good.
- ``Permanent/Suppressed``, ``OnAccountSuppressionList`` (bounce or complaint): SES already
  blocks the address; kept suppressed here, no new SES call needed.
- A complaint with feedback type ``not-spam`` is recorded, never a reason to stop.
- Transient bounces are counted: ``transient_limit`` within ``transient_window`` (or
  ``mailbox_full_limit`` MailboxFull within ``mailbox_full_window``) suppress the address until
  ``transient_expiry`` after the bounce that completed the run.
- ``Undetermined`` bounces flag the address (escalated after ``undetermined_escalate_after``).
- ``MessageTooLarge``, ``ContentRejected``, ``AttachmentRejected``, rejects and rendering
  failures are content problems: they say nothing about the address.
- ``DeliveryDelay`` never suppresses.
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


@dataclass(frozen=True)
class PolicySettings:
    transient_limit: int = 3
    transient_window: timedelta = timedelta(days=7)
    mailbox_full_limit: int = 5
    mailbox_full_window: timedelta = timedelta(days=30)
    transient_expiry: timedelta = timedelta(days=30)
    undetermined_escalate_after: int = 3

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
    address: str
    suppressed: bool
    """Suppressed when decided; ``expires_at`` (if set) lifts it: use ``suppressed_at(now)``."""
    reason: str | None  # BOUNCE | COMPLAINT, as the SES suppression list names it
    cause: str | None
    expires_at: datetime | None
    flagged: bool
    escalated: bool
    already_at_ses: bool
    first_event_at: datetime | None
    last_event_at: datetime | None
    hard_bounce_count: int
    soft_bounce_count: int
    complaint_count: int
    undetermined_count: int
    reasons: tuple[str, ...]
    source_message_ids: tuple[str, ...]

    def suppressed_at(self, now: datetime) -> bool:
        return in_force(self.suppressed, self.expires_at, now)


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
    reason: str | None = None
    cause: str | None = None
    expires_at: datetime | None = None
    if complaints:
        reason, cause = "COMPLAINT", "complaint"
    elif any(event.event_type == "bounce" for event in suppressing):
        reason, cause = "BOUNCE", "permanent-bounce"
    elif at_ses:
        reason, cause = "BOUNCE", "ses-suppressed"
    elif run_ends:
        reason, cause = "BOUNCE", "repeated-soft-bounce"
        expires_at = max(run_ends) + settings.transient_expiry
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
        escalated=len(undetermined) >= settings.undetermined_escalate_after,
        already_at_ses=bool(at_ses),
        first_event_at=min(times) if times else None,
        last_event_at=max(times) if times else None,
        hard_bounce_count=sum(1 for event in suppressing + at_ses if event.event_type == "bounce"),
        soft_bounce_count=len(soft) + len(full),
        complaint_count=sum(1 for event in relevant if event.event_type == "complaint"),
        undetermined_count=len(undetermined),
        reasons=tuple(sorted({_reason_text(event) for event in relevant})),
        source_message_ids=tuple(source_ids[:SOURCE_IDS_KEPT]),
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
