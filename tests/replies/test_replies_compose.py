"""The reply and the summary as pure functions: data walks, empty cases, nothing invented."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from importlib import resources

from hypothesis import given, settings
from hypothesis import strategies as st
from replies_support import KINDS, assert_nothing_invented

from noticedesk.cases.queries import CaseSummary, ChecklistItem, TimelineEvent
from noticedesk.notices.model import ABUSE_TYPES, Facts, Kind
from noticedesk.notices.rules import rule_table
from noticedesk.replies.compose import compose_reply
from noticedesk.replies.gather import ActionRecord, FindingCounts, FindingRow, NoticeMail, ReplyContext
from noticedesk.replies.phrasebook import environment, kinds, phrases, prevention_table
from noticedesk.replies.summary import compose_summary

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _case(kind: str, **values: object) -> CaseSummary:
    base: dict[str, object] = {
        "id": 4,
        "account_id": "111122223333",
        "kind": kind,
        "case_ref": None,
        "stage": "notice",
        "status": "new",
        "title": "",
        "authenticity": "verified",
        "reply_by": NOW + timedelta(hours=20),
        "enforcement_at": NOW + timedelta(hours=44),
        "opened_at": NOW - timedelta(hours=4),
        "open_items": 0,
    }
    base.update(values)
    return CaseSummary(**base)  # type: ignore[arg-type]


def _context(kind: str, facts: Facts | None = None, **values: object) -> ReplyContext:
    received = NOW - timedelta(hours=4)
    defaults: dict[str, object] = {
        "case": _case(kind),
        "facts": facts or Facts(account_id="111122223333"),
        "notices": (
            NoticeMail(
                "<n1@aws.invalid>",
                "Notice",
                "abuse@amazon.com",
                "me@example.jp",
                received,
                received,
                None,
                True,
                "notice",
            ),
        ),
        "timeline": (
            TimelineEvent(received, "notice-received", "noticedesk", "notice", {"stage": "notice"}),
        ),
        "findings": (),
        "counts": FindingCounts(),
        "actions": (),
        "checklist": (),
        "clock_note_en": "",
        "clock_note_ja": "",
    }
    defaults.update(values)
    return ReplyContext(**defaults)  # type: ignore[arg-type]


def test_every_case_kind_has_a_template_an_addressee_and_prevention_data() -> None:
    case_kinds = {kind.value for kind in Kind if kind.opens_case}
    assert case_kinds == set(KINDS) == set(kinds())
    templates = set(environment().list_templates())
    for kind in case_kinds:
        assert f"reply/{kind}.j2" in templates
        assert kind in prevention_table()
        assert kinds()[kind].via in ("mail", "support-center")
    assert {"summary/en.j2", "summary/ja.j2"} <= templates


def test_phrase_tables_cover_abuse_types_mitigations_and_stages() -> None:
    table = phrases()
    assert set(ABUSE_TYPES) <= set(table["abuse_type"])
    assert {entry.label for entry in rule_table().mitigations} <= set(table["mitigation"])
    stages = {"notice", "reminder", "final", "paused", "appeal-refused", "resolved", "reply", "early-warning"}
    assert stages <= set(table["stage"])
    for name, entry in table["action"].items():
        for lang in ("en", "ja"):
            entry[lang].format(resource="r", region="g")  # only the two known fields
        assert name == name.lower()


def test_prevention_abuse_types_are_known_types() -> None:
    data = tomllib.loads(resources.files("noticedesk.replies").joinpath("data/prevention.toml").read_text())
    assert set(data["abuse-report"]["types"]) <= set(ABUSE_TYPES)


def _headings(text: str) -> list[tuple[str, str]]:
    """(heading, what follows it) for every underlined heading of a text reply."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines[1:], start=1):
        if line and set(line) == {"-"} and len(line) == len(lines[index - 1]):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            found.append((lines[index - 1], following))
    return found


def test_a_case_with_no_findings_and_no_actions_reads_well_for_every_kind() -> None:
    for kind in KINDS:
        open_item = ChecklistItem("first-step", "Do the first step.", "最初の手順です。", None, None)
        draft = compose_reply(_context(kind, checklist=(open_item,)), NOW)
        for heading, following in _headings(draft.body):
            assert following.strip(), f"{kind}: empty section {heading!r}"
        assert "Do the first step." not in draft.body  # the checklist is for us, not for AWS
        assert draft.status_line.startswith("acknowledgement · 1 checklist item open")
        if kinds()[kind].root_cause:
            assert "We are still establishing how this happened" in draft.body
        assert "{" not in draft.body and "None" not in draft.body
        for lang in ("en", "ja"):
            summary = compose_summary(_context(kind, checklist=(open_item,)), lang, NOW)  # type: ignore[arg-type]
            assert "None" not in summary and "{" not in summary
            assert ("最初の手順です。" if lang == "ja" else "Do the first step.") in summary


def test_markdown_style_uses_markdown_headings() -> None:
    draft = compose_reply(_context("abuse-report"), NOW, "md")
    assert "\n## Timeline (UTC)\n" in draft.body and "-----" not in draft.body


def test_subject_carries_case_reference_and_account_for_abuse_and_keeps_support_subject() -> None:
    notice = NoticeMail(
        "<a@x>", "Fwd: Your AWS Abuse Report", "ec2-abuse@amazon.com", None, NOW, NOW, None, True, "notice"
    )
    abuse = _context("abuse-report", case=_case("abuse-report", case_ref="11983634034-1"), notices=(notice,))
    assert compose_reply(abuse, NOW).subject == (
        "RE: Your AWS Abuse Report [11983634034-1] [AWS ID 111122223333]"
    )
    support = NoticeMail(
        "<b@x>",
        "Your AWS account 111122223333 is compromised",
        "no-reply-aws@amazon.com",
        None,
        NOW,
        NOW,
        None,
        True,
        "notice",
    )
    compromised = _context(
        "account-compromised", case=_case("account-compromised", case_ref="98765"), notices=(support,)
    )
    draft = compose_reply(compromised, NOW)
    assert draft.subject == "RE: Your AWS account 111122223333 is compromised"
    assert draft.via == "support-center" and draft.to is None


def test_restrictions_request_depends_on_actions_taken() -> None:
    facts = Facts(account_id="111122223333", mitigations=("outgoing traffic blocked",))
    before = compose_reply(_context("abuse-report", facts), NOW, variant="acknowledgement").body
    assert "lift" not in before and "Restrictions" not in before  # only the resolution asks
    action = ActionRecord(
        NOW,
        "action-applied",
        "a1",
        "instance-isolate",
        "i-0123456789abcdef0",
        "ap-northeast-1",
        "111122223333",
        True,
        "me",
    )
    after = compose_reply(_context("abuse-report", facts, actions=(action,)), NOW)
    assert after.variant == "resolution" and "we kindly ask you to lift them" in after.body


# --- nothing invented: every identifier and time in the output comes from the case -------------

accounts = st.from_regex(r"\A[0-9]{12}\Z", fullmatch=True)
keys = st.from_regex(r"\A(AKIA|ASIA)[A-Z0-9]{16}\Z", fullmatch=True)
instances = st.from_regex(r"\Ai-[0-9a-f]{17}\Z", fullmatch=True)
times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda value: value.replace(second=0, microsecond=0))


def test_the_invention_check_catches_an_invented_value() -> None:
    context = _context("abuse-report")
    for invented in (
        "999988887777",
        "i-0123456789abcdef0",
        "2026-01-02 03:04",
        "2026年1月2日 03:04（日本時間）",
    ):
        try:
            assert_nothing_invented(f"text {invented} text", context)
        except AssertionError:
            continue
        raise AssertionError(f"{invented} was not caught")


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    account=accounts,
    key=keys,
    instance=instances,
    other_instance=instances,
    abuse_time=times,
    acted_at=times,
    mitigated=st.booleans(),
)
def test_nothing_in_a_draft_or_summary_is_invented(
    kind: str,
    account: str,
    key: str,
    instance: str,
    other_instance: str,
    abuse_time: datetime,
    acted_at: datetime,
    mitigated: bool,
) -> None:
    facts = Facts(
        account_id=account,
        access_key_ids=(key,),
        instance_ids=(instance,),
        abuse_time=abuse_time,
        mitigations=("resources restricted",) if mitigated else (),
    )
    finding = FindingRow(
        "c",
        "fail",
        "high",
        account,
        "us-east-1",
        other_instance,
        f"Instance {other_instance} runs with key {key}",
        {},
        acted_at,
    )
    actions = (
        ActionRecord(
            acted_at, "action-applied", "a1", "access-key-deactivate", key, None, account, True, "me"
        ),
        ActionRecord(
            acted_at,
            "action-applied",
            "a2",
            "instance-stop",
            other_instance,
            "us-east-1",
            account,
            False,
            "me",
        ),
    )
    context = _context(
        kind,
        facts,
        case=_case(kind, account_id=account, case_ref="12345678-1"),
        findings=(finding,),
        counts=FindingCounts(fail=1),
        actions=actions,
    )
    draft = compose_reply(context, NOW)
    assert_nothing_invented(draft.body, context, to_aws=True)
    for text in (draft.subject, *draft.warnings):
        assert_nothing_invented(text, context)
    for lang in ("en", "ja"):
        assert_nothing_invented(compose_summary(context, lang, NOW), context)  # type: ignore[arg-type]


def test_an_unverified_notice_is_flagged_until_a_person_confirmed_it() -> None:
    unverified = _case("account-compromised", authenticity="unverified")
    step = ChecklistItem("confirm-notice", "Confirm the notice", "通知を確認", None, None)
    flagged = compose_reply(_context("account-compromised", case=unverified, checklist=(step,)), NOW)
    assert any("authenticity is 'unverified'" in warning for warning in flagged.warnings)
    done = ChecklistItem("confirm-notice", "Confirm the notice", "通知を確認", NOW, "sato")
    confirmed = compose_reply(_context("account-compromised", case=unverified, checklist=(done,)), NOW)
    assert not any("authenticity" in warning for warning in confirmed.warnings)


def test_a_passed_reply_by_is_told_the_way_the_summary_tells_it() -> None:
    late = _case("abuse-report", reply_by=NOW - timedelta(hours=3, minutes=41))
    context = _context("abuse-report", case=late)
    warnings = compose_reply(context, NOW).warnings
    assert any("has passed, overdue by 3 h 41 min" in warning for warning in warnings)
    assert "overdue by 3 h 41 min" in compose_summary(context, "en", NOW)
    on_time = compose_reply(_context("abuse-report", case=_case("abuse-report", reply_by=NOW)), NOW)
    assert not any("has passed" in warning for warning in on_time.warnings)
