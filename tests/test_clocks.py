"""Deadline arithmetic, as properties: stated dates win, defaults are data, times are aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noticedesk.config import ClockDefaults, Config
from noticedesk.notices.clocks import Clocks, clock_rule, clocks_for, default_clock_rules
from noticedesk.notices.model import Facts, Kind, Notice, Stage

CASE_KINDS = [kind for kind in Kind if kind.opens_case]
OPEN_STAGES = [Stage.NOTICE, Stage.REMINDER, Stage.REPLY]

zones = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-12), max_value=timedelta(hours=14)).map(
        lambda delta: timedelta(minutes=delta // timedelta(minutes=15) * 15)
    ),
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones)
hours = st.integers(min_value=1, max_value=999)


def notice(kind: Kind, stage: Stage = Stage.NOTICE, reply_by: datetime | None = None) -> Notice:
    return Notice(kind=kind, stage=stage, facts=Facts(reply_by=reply_by), rule_id=None)


def _all_utc(clocks: Clocks) -> bool:
    return all(
        value is None or (value.tzinfo is not None and value.utcoffset() == timedelta(0))
        for value in (clocks.reply_by, clocks.enforcement_at)
    )


@given(st.sampled_from(CASE_KINDS), st.sampled_from(OPEN_STAGES), moments, moments, st.none() | hours)
def test_a_stated_date_wins(
    kind: Kind, stage: Stage, sent: datetime, stated: datetime, within: int | None
) -> None:
    clocks = clocks_for(notice(kind, stage, stated), sent, within)
    assert clocks.reply_by == stated
    assert _all_utc(clocks)


@given(st.sampled_from(CASE_KINDS), st.sampled_from(OPEN_STAGES), moments, hours)
def test_within_n_hours_counts_from_the_mails_date(
    kind: Kind, stage: Stage, sent: datetime, within: int
) -> None:
    clocks = clocks_for(notice(kind, stage), sent, within)
    assert clocks.reply_by == sent + timedelta(hours=within)
    assert _all_utc(clocks)


@given(st.sampled_from(CASE_KINDS), st.sampled_from(OPEN_STAGES), moments)
def test_defaults_come_from_the_data(kind: Kind, stage: Stage, sent: datetime) -> None:
    rule = default_clock_rules()[kind.value]
    clocks = clocks_for(notice(kind, stage), sent)
    reply_hours, enforcement_hours = rule.reply_by_hours, rule.enforcement_hours
    if stage == Stage.REMINDER:
        if rule.reminder_reply_by_hours is not None:
            reply_hours = rule.reminder_reply_by_hours
        if rule.reminder_enforcement_hours is not None:
            enforcement_hours = rule.reminder_enforcement_hours
    expected_reply = None if reply_hours is None else sent + timedelta(hours=reply_hours)
    expected_enforcement = None if enforcement_hours is None else sent + timedelta(hours=enforcement_hours)
    assert (clocks.reply_by, clocks.enforcement_at) == (expected_reply, expected_enforcement)
    assert _all_utc(clocks)


@given(
    st.sampled_from(CASE_KINDS),
    moments,
    st.none() | st.floats(min_value=0.25, max_value=2000),
    st.none() | st.floats(min_value=0.25, max_value=2000),
)
def test_configuration_overrides_the_defaults(
    kind: Kind, sent: datetime, reply_hours: float | None, enforcement_hours: float | None
) -> None:
    config = Config.model_validate(
        {"clocks": {kind.value: {"reply_by_hours": reply_hours, "enforcement_hours": enforcement_hours}}}
    )
    default = default_clock_rules()[kind.value]
    clocks = clocks_for(notice(kind), sent, overrides=config.clocks)
    reply = reply_hours if reply_hours is not None else default.reply_by_hours
    enforcement = enforcement_hours if enforcement_hours is not None else default.enforcement_hours
    assert clocks.reply_by == (None if reply is None else sent + timedelta(hours=reply))
    assert clocks.enforcement_at == (None if enforcement is None else sent + timedelta(hours=enforcement))
    assert _all_utc(clocks)


@given(st.sampled_from(CASE_KINDS), moments, st.none() | moments)
def test_final_paused_refused_and_resolved_notices_mean_aws_has_acted(
    kind: Kind, sent: datetime, stated: datetime | None
) -> None:
    final = clocks_for(notice(kind, Stage.FINAL, stated), sent)
    resolved = clocks_for(notice(kind, Stage.RESOLVED, stated), sent)
    paused = clocks_for(notice(kind, Stage.PAUSED, stated), sent)
    refused = clocks_for(notice(kind, Stage.APPEAL_REFUSED, stated), sent)
    assert (
        final.enforcement_at
        == resolved.enforcement_at
        == paused.enforcement_at
        == refused.enforcement_at
        == sent
    )
    assert resolved.reply_by is None
    assert _all_utc(final) and _all_utc(resolved)


@given(st.sampled_from([Kind.AWS_OTHER, Kind.NOT_AWS]), moments, st.none() | moments)
def test_kinds_without_a_case_have_no_clock(kind: Kind, sent: datetime, stated: datetime | None) -> None:
    assert clocks_for(notice(kind, Stage.NOTICE, stated), sent, 12) == Clocks(None, None)


def test_the_data_has_a_clock_entry_for_every_case_kind() -> None:
    assert set(default_clock_rules()) == {kind.value for kind in CASE_KINDS}
    assert default_clock_rules()["abuse-report"].reply_by_hours == 24
    assert clock_rule(Kind.ABUSE_REPORT, {"abuse-report": ClockDefaults(reply_by_hours=12)}) is not None


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        clocks_for(notice(Kind.ABUSE_REPORT), datetime(2026, 11, 27, 3, 0))


def test_the_clock_note_is_bilingual() -> None:
    clocks = clocks_for(notice(Kind.ABUSE_REPORT), datetime(2026, 11, 27, tzinfo=UTC))
    assert clocks.note_en and clocks.note_ja


SENT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_an_abuse_report_gives_24_hours_before_aws_may_act() -> None:
    """AWS's page: no reply within 24 hours and AWS may block resources or suspend the account."""
    clocks = clocks_for(notice(Kind.ABUSE_REPORT), SENT)
    assert clocks.reply_by == clocks.enforcement_at == SENT + timedelta(hours=24)


@given(moments, st.none() | hours)
def test_after_a_reminder_aws_may_act_at_once(sent: datetime, within: int | None) -> None:
    """A reminder is the second warning: the clock reads imminent, not another 48 hours."""
    clocks = clocks_for(notice(Kind.ABUSE_REPORT, Stage.REMINDER), sent, within)
    assert clocks.enforcement_at == sent
    assert clocks.reply_by == (sent if within is None else sent + timedelta(hours=within))
    assert _all_utc(clocks)


@pytest.mark.parametrize("kind", [Kind.SES_BOUNCE, Kind.SES_COMPLAINT, Kind.SES_REVIEW])
def test_ses_reviews_get_no_made_up_date(kind: Kind) -> None:
    """No AWS page gives a bounce or complaint window: the notice states it, or AWS decides it."""
    rule = default_clock_rules()[kind.value]
    assert rule.enforcement_hours is None and rule.reply_by_hours is None
    assert clocks_for(notice(kind), SENT) == Clocks(None, None, rule.note_en, rule.note_ja)
    assert rule.undated_en == "AWS decides the window" and "AWS が決め" in rule.undated_ja
    assert "AWS decides" in rule.note_en and "AWS が決め" in rule.note_ja


@pytest.mark.parametrize(
    "kind", [Kind.SES_BOUNCE, Kind.SES_COMPLAINT, Kind.SES_REVIEW, Kind.SES_VULNERABLE_SITE]
)
def test_a_stated_end_of_review_is_when_ses_may_act(kind: Kind) -> None:
    ends = datetime(2026, 12, 10, tzinfo=UTC)
    assert clocks_for(notice(kind, reply_by=ends), SENT).enforcement_at == ends


def test_the_vulnerable_site_review_keeps_its_14_days() -> None:
    assert clocks_for(notice(Kind.SES_VULNERABLE_SITE), SENT).enforcement_at == SENT + timedelta(days=14)


def test_the_clock_notes_state_aws_levels_as_aws_does() -> None:
    """Review at 5 % / 0.1 % or more, pause at 10 % / 0.5 % or more; never "over", never を超え."""
    bounce, complaint = default_clock_rules()["ses-bounce"], default_clock_rules()["ses-complaint"]
    assert "5% or more" in bounce.note_en and "10% or more" in bounce.note_en
    assert "5% 以上" in bounce.note_ja and "10% 以上" in bounce.note_ja
    assert "0.1% or more" in complaint.note_en and "0.5% or more" in complaint.note_en
    assert "0.1% 以上" in complaint.note_ja and "0.5% 以上" in complaint.note_ja
    for rule in default_clock_rules().values():
        for text in (rule.note_en, rule.note_ja):
            assert "を超え" not in text and " over " not in text and "2,700,000" not in text
            assert "保護観察" not in text
        assert "一時停止" in rule.note_ja or "送信が停止" not in rule.note_ja
