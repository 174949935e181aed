from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest

from noticedesk.config import SesConfig
from noticedesk.feedback.events import FeedbackEvent
from noticedesk.feedback.suppressions import COLUMNS
from noticedesk.feedback.verdicts import (
    AddressVerdict,
    PolicySettings,
    Treatment,
    decide,
    in_force,
    treatment,
)
from noticedesk.store.tables import ses_suppressions

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SETTINGS = PolicySettings()


def event(kind: str = "bounce", at: datetime = T0, key: str = "fb", **fields: str | None) -> FeedbackEvent:
    return FeedbackEvent(event_type=kind, address="a@example.org", occurred_at=at, feedback_key=key, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"bounce_type": "Permanent", "bounce_sub_type": "General"}, Treatment.SUPPRESS),
        ({"bounce_type": "Permanent", "bounce_sub_type": "NoEmail"}, Treatment.SUPPRESS),
        ({"bounce_type": "Permanent", "bounce_sub_type": "Suppressed"}, Treatment.ALREADY_AT_SES),
        (
            {"bounce_type": "Permanent", "bounce_sub_type": "OnAccountSuppressionList"},
            Treatment.ALREADY_AT_SES,
        ),
        ({"bounce_type": "Transient", "bounce_sub_type": "General"}, Treatment.SOFT),
        ({"bounce_type": "Transient", "bounce_sub_type": "MailboxFull"}, Treatment.MAILBOX_FULL),
        ({"bounce_type": "Transient", "bounce_sub_type": "MessageTooLarge"}, Treatment.CONTENT),
        ({"bounce_type": "Transient", "bounce_sub_type": "ContentRejected"}, Treatment.CONTENT),
        ({"bounce_type": "Transient", "bounce_sub_type": "AttachmentRejected"}, Treatment.CONTENT),
        ({"bounce_type": "Undetermined", "bounce_sub_type": "Undetermined"}, Treatment.UNDETERMINED),
    ],
)
def test_bounce_treatments_follow_the_aws_table(fields: dict[str, str], expected: Treatment) -> None:
    assert treatment(event(**fields)) is expected


def test_complaints_suppress_except_not_spam_and_ses_listed() -> None:
    assert treatment(event("complaint", complaint_type="abuse")) is Treatment.SUPPRESS
    assert treatment(event("complaint")) is Treatment.SUPPRESS
    assert treatment(event("complaint", complaint_type="not-spam")) is Treatment.RECORD
    assert (
        treatment(event("complaint", complaint_sub_type="OnAccountSuppressionList"))
        is Treatment.ALREADY_AT_SES
    )


@pytest.mark.parametrize("kind", ["delivery-delay", "send", "delivery", "open", "click", "subscription"])
def test_other_events_never_suppress(kind: str) -> None:
    assert treatment(event(kind)) is Treatment.NONE
    assert not decide("a@example.org", [event(kind)], SETTINGS).suppressed


def test_reject_and_rendering_failure_are_content_problems() -> None:
    assert treatment(event("reject")) is Treatment.CONTENT
    assert treatment(event("rendering-failure")) is Treatment.CONTENT


def test_permanent_bounce_suppresses_for_good() -> None:
    verdict = decide("a@example.org", [event(bounce_type="Permanent", bounce_sub_type="General")], SETTINGS)
    assert verdict.suppressed and verdict.reason == "BOUNCE" and verdict.expires_at is None
    assert in_force(verdict.suppressed, verdict.expires_at, T0 + timedelta(days=3650))


def test_complaint_wins_over_bounce_as_the_reason() -> None:
    events = [event(bounce_type="Permanent", bounce_sub_type="General"), event("complaint", key="c")]
    assert decide("a@example.org", events, SETTINGS).reason == "COMPLAINT"


def soft(day: float, sub: str = "General") -> FeedbackEvent:
    return event(
        bounce_type="Transient", bounce_sub_type=sub, at=T0 + timedelta(days=day), key=f"s{day}{sub}"
    )


def test_soft_bounces_suppress_after_the_limit_within_the_window_and_expire() -> None:
    assert not decide("a@example.org", [soft(0), soft(1)], SETTINGS).suppressed
    assert not decide("a@example.org", [soft(0), soft(4), soft(8)], SETTINGS).suppressed  # spread over 8 days
    verdict = decide("a@example.org", [soft(0), soft(3), soft(6)], SETTINGS)
    assert verdict.suppressed and verdict.cause == "repeated-soft-bounce"
    assert verdict.expires_at == T0 + timedelta(days=6) + SETTINGS.transient_expiry
    assert in_force(verdict.suppressed, verdict.expires_at, T0 + timedelta(days=7))
    assert not in_force(verdict.suppressed, verdict.expires_at, T0 + timedelta(days=37))


def test_mailbox_full_has_its_own_limit_and_window() -> None:
    four = [soft(day * 5, "MailboxFull") for day in range(4)]
    assert not decide("a@example.org", four, SETTINGS).suppressed
    assert decide("a@example.org", [*four, soft(20, "MailboxFull")], SETTINGS).suppressed


def test_settings_change_the_limit() -> None:
    strict = PolicySettings(transient_limit=2, transient_window=timedelta(days=1))
    assert decide("a@example.org", [soft(0), soft(0.5)], strict).suppressed


def undetermined(day: float) -> FeedbackEvent:
    return event(bounce_type="Undetermined", at=T0 + timedelta(days=day), key=f"u{day}")


def test_undetermined_flags_then_suppresses_for_a_while_after_repeats_within_the_window() -> None:
    one = decide("a@example.org", [undetermined(0)], SETTINGS)
    assert one.flagged and not one.suppressed and one.undetermined_count == 1
    spread = decide("a@example.org", [undetermined(0), undetermined(4), undetermined(8)], SETTINGS)
    assert spread.flagged and not spread.suppressed  # three, but over 8 days
    three = decide("a@example.org", [undetermined(0), undetermined(3), undetermined(6)], SETTINGS)
    assert three.suppressed and (three.reason, three.cause) == ("BOUNCE", "repeated-undetermined-bounce")
    assert three.expires_at == T0 + timedelta(days=6) + SETTINGS.transient_expiry
    assert not in_force(three.suppressed, three.expires_at, T0 + timedelta(days=37))
    assert three.soft_bounce_count == 0 and three.undetermined_count == 3


def test_undetermined_escalate_after_sets_how_many() -> None:
    two = [undetermined(0), undetermined(1)]
    assert not decide("a@example.org", two, SETTINGS).suppressed
    assert decide("a@example.org", two, PolicySettings(undetermined_escalate_after=2)).suppressed
    config = SesConfig(undetermined_escalate_after=2, transient_window_days=1)
    assert PolicySettings.from_config(config).undetermined_escalate_after == 2
    assert not decide(
        "a@example.org", [*two[:1], undetermined(2)], PolicySettings.from_config(config)
    ).suppressed


def test_soft_bounces_name_the_cause_when_undetermined_ones_also_ran() -> None:
    verdict = decide(
        "a@example.org",
        [soft(0), soft(1), soft(2), undetermined(10), undetermined(11), undetermined(12)],
        SETTINGS,
    )
    assert verdict.cause == "repeated-soft-bounce"
    assert verdict.expires_at == T0 + timedelta(days=12) + SETTINGS.transient_expiry  # the later run


def test_the_default_settings_are_the_configurations() -> None:
    assert PolicySettings() == PolicySettings.from_config(SesConfig())


def test_a_verdict_holds_the_suppression_lists_columns_in_their_order() -> None:
    assert tuple(item.name for item in fields(AddressVerdict)) == tuple(
        name for name in COLUMNS if name != "synced_at"
    )
    assert {*COLUMNS, "id", "updated_at"} == set(ses_suppressions.c.keys())


def test_duplicates_do_not_count_twice() -> None:
    same = [soft(0), soft(0), soft(0)]
    verdict = decide("a@example.org", same, SETTINGS)
    assert not verdict.suppressed and verdict.soft_bounce_count == 1
