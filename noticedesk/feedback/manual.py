"""The suppression list edited by a person: an address added or lifted by hand, with a reason.

Each change is kept in the row's ``reasons`` with who made it and why. A manual entry stands until
new bounce or complaint feedback for the same address is decided again (feedback wins, as it
would for any entry); an entry lifted here stays on the SES account-level list if it is there
(``at_ses``): that list is changed only in SES.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from noticedesk.errors import NotFoundError
from noticedesk.feedback.events import normalise_address
from noticedesk.feedback.suppressions import Suppression, find_suppression
from noticedesk.store.tables import ses_suppressions

MANUAL = "manual"
SES_REASONS = ("BOUNCE", "COMPLAINT")
MAX_NOTE = 500


def _note(actor: str, verb: str, note: str, now: datetime) -> str:
    return f"{verb} by {actor} at {now.isoformat(timespec='seconds')}: {note}"


def _checked(address: str, note: str) -> tuple[str, str]:
    normalised = normalise_address(address)
    if normalised is None:
        raise ValueError(f"{address!r} is not an e-mail address")
    note = " ".join(note.split())[:MAX_NOTE]
    if not note:
        raise ValueError("a reason is required: say why the list changes")
    return normalised, note


def suppress(
    connection: Connection, address: str, ses_reason: str, note: str, actor: str, now: datetime
) -> Suppression:
    """Put ``address`` on the list (and so, at the next `ses sync`, on SES's, as ``ses_reason``)."""
    if ses_reason not in SES_REASONS:
        raise ValueError(f"the SES reason is BOUNCE or COMPLAINT, not {ses_reason!r}")
    address, note = _checked(address, note)
    entry = _note(actor, "added", note, now)
    current = connection.execute(
        select(ses_suppressions.c.id, ses_suppressions.c.reasons).where(ses_suppressions.c.address == address)
    ).first()
    if current is None:
        connection.execute(
            insert(ses_suppressions).values(
                address=address,
                suppressed=True,
                reason=ses_reason,
                cause=MANUAL,
                expires_at=None,
                flagged=False,
                hard_bounce_count=0,
                soft_bounce_count=0,
                complaint_count=0,
                undetermined_count=0,
                reasons=[entry],
                source_message_ids=[],
                at_ses=False,
                updated_at=now,
            )
        )
    else:
        connection.execute(
            update(ses_suppressions)
            .where(ses_suppressions.c.id == current.id)
            .values(
                suppressed=True,
                reason=ses_reason,
                cause=MANUAL,
                expires_at=None,
                synced_at=None,
                reasons=[*(current.reasons or []), entry],
                updated_at=now,
            )
        )
    found = find_suppression(connection, address)
    assert found is not None
    return found


def lift(connection: Connection, address: str, note: str, actor: str, now: datetime) -> Suppression:
    """Take ``address`` off the local list; its history stays, with this change added to it."""
    address, note = _checked(address, note)
    current = connection.execute(
        select(ses_suppressions.c.id, ses_suppressions.c.reasons).where(ses_suppressions.c.address == address)
    ).first()
    if current is None:
        raise NotFoundError(f"{address} is not on the suppression list")
    connection.execute(
        update(ses_suppressions)
        .where(ses_suppressions.c.id == current.id)
        .values(
            suppressed=False,
            cause=MANUAL,
            expires_at=None,
            reasons=[*(current.reasons or []), _note(actor, "removed", note, now)],
            updated_at=now,
        )
    )
    found = find_suppression(connection, address)
    assert found is not None
    return found
