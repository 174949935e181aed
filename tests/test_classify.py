"""The rule table, walked: every rule has a fixture mail that it (and no earlier rule) decides."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from triage_helpers import MAILS, mail_bytes, notice_of

from noticedesk.notices.model import ABUSE_TYPES, Facts, Kind, Stage
from noticedesk.notices.rules import rule_table

KIND_FIXTURES = {
    "sns-subscription-confirmation": "aws-other-sns-confirmation.eml",
    "sns-notification": "aws-other-sns-notification.eml",
    "compromised-subject": "compromised-subject.eml",
    "compromised-exposed-key": "compromised-exposed-key.eml",
    "abuse-subject": "abuse-subject-portscan.eml",
    "abuse-body": "abuse-body-spam.eml",
    "ses-vulnerable-site": "ses-vulnerable-site.eml",
    "ses-vulnerable-site-body": "ses-vulnerable-site-body.eml",
    "ses-bounce-subject": "ses-bounce-subject.eml",
    "ses-complaint-subject": "ses-complaint-subject.eml",
    "ses-bounce-body": "ses-bounce-body.eml",
    "ses-complaint-body": "ses-complaint-body.eml",
    "ses-review-other": "ses-review-other.eml",
    "account-hold": "account-hold.eml",
    "account-hold-body": "account-hold-body.eml",
}
STAGE_FIXTURES = {
    "resolved": "abuse-resolved.eml",
    "final-notification": "abuse-final-openproxy.eml",
    "final-body": "abuse-final-body-dos.eml",
    "ses-appeal-refused": "ses-appeal-refused.eml",
    "ses-paused": "ses-suspended.eml",
    "reminder": "abuse-reminder-intrusion.eml",
    "aws-reply": "abuse-reply.eml",
}
ABUSE_FIXTURES = {
    "spam": "abuse-body-spam.eml",
    "port-scan": "abuse-subject-portscan.eml",
    "dos": "abuse-final-body-dos.eml",
    "intrusion": "abuse-reminder-intrusion.eml",
    "prohibited-content": "abuse-prohibited-content.eml",
    "malware": "abuse-malware.eml",
    "open-proxy": "abuse-final-openproxy.eml",
    "phishing": "abuse-phishing.eml",
    "copyright": "abuse-copyright.eml",
    "other": "abuse-other.eml",
}


def test_every_kind_rule_has_a_fixture() -> None:
    assert {rule.id for rule in rule_table().kinds} == set(KIND_FIXTURES)


def test_every_stage_rule_has_a_fixture() -> None:
    assert {rule.id for rule in rule_table().stages} == set(STAGE_FIXTURES)


def test_every_abuse_type_has_a_fixture() -> None:
    assert set(ABUSE_TYPES) == set(ABUSE_FIXTURES)
    assert {entry.label for entry in rule_table().abuse_types} | {"other"} == set(ABUSE_TYPES)


def test_every_fixture_file_is_used() -> None:
    used = {*KIND_FIXTURES.values(), *STAGE_FIXTURES.values(), *ABUSE_FIXTURES.values()}
    extra = {
        "masked-values.eml",
        "ec2-retirement.eml",
        "phishing-lookalike.eml",
        "account-hold-ja.eml",
        "ses-probation-subject.eml",
        "ses-probation-body.eml",
    }
    assert {path.name for path in MAILS.glob("*.eml")} == used | extra


@pytest.mark.parametrize(("rule_id", "fixture"), sorted(KIND_FIXTURES.items()))
def test_kind_rule_decides_its_fixture(rule_id: str, fixture: str) -> None:
    rule = next(rule for rule in rule_table().kinds if rule.id == rule_id)
    notice = notice_of(mail_bytes(fixture))
    assert notice.rule_id == rule_id
    assert notice.kind is rule.kind


@pytest.mark.parametrize(("rule_id", "fixture"), sorted(STAGE_FIXTURES.items()))
def test_stage_rule_decides_its_fixture(rule_id: str, fixture: str) -> None:
    rule = next(rule for rule in rule_table().stages if rule.id == rule_id)
    notice = notice_of(mail_bytes(fixture))
    assert notice.stage is rule.stage
    assert not rule.kinds or notice.kind in rule.kinds
    # No earlier stage rule claims it: the fixture proves this rule, not a neighbour.
    earlier = [r for r in rule_table().stages if r.priority < rule.priority and r.stage is not rule.stage]
    assert all(r.stage is not notice.stage for r in earlier)


@pytest.mark.parametrize(("abuse_type", "fixture"), sorted(ABUSE_FIXTURES.items()))
def test_abuse_type_is_read(abuse_type: str, fixture: str) -> None:
    notice = notice_of(mail_bytes(fixture))
    assert notice.kind is Kind.ABUSE_REPORT
    assert notice.facts.abuse_types == (abuse_type,)


def test_every_fact_of_a_compromised_key_notice() -> None:
    facts = notice_of(mail_bytes("compromised-subject.eml")).facts
    assert facts.account_id == "111122223333"
    assert facts.case_ref == "176500112233"
    assert facts.access_key_ids == ("AKIA2E0A8F3B244C9986",)
    assert facts.iam_users == ("ci-deployer",)
    assert facts.exposed_urls == ("https://github.com/example-org/deploy-tools/blob/main/settings.yml",)
    assert facts.regions == ("us-east-1", "eu-west-1")
    assert facts.reply_by == datetime(2026, 12, 2, tzinfo=UTC)
    assert facts.mitigations == (
        "quarantine policy attached (AWSCompromisedKeyQuarantine)",
        "ability to create some resources limited",
    )
    assert facts.abuse_types == ()  # abuse types belong to abuse reports only


def test_every_fact_of_an_abuse_report() -> None:
    facts = notice_of(mail_bytes("abuse-subject-portscan.eml")).facts
    assert facts.account_id == "111122223333"
    assert facts.case_ref == "18000000001-1"
    assert facts.instance_ids == ("i-0a1b2c3d4e5f60718",)
    assert facts.ip_addresses == ("54.250.10.20",)  # the victim's "Remote IP" is not ours
    assert facts.ports == (22,)
    assert facts.regions == ("ap-northeast-1",)
    assert facts.abuse_time == datetime(2026, 11, 27, 2, 15, tzinfo=UTC)


def test_outgoing_port_block_is_a_mitigation_and_a_port() -> None:
    facts = notice_of(mail_bytes("abuse-final-openproxy.eml")).facts
    assert facts.ports == (3128,)
    assert facts.mitigations == ("outgoing traffic blocked",)
    assert facts.instance_ids == ("i-0123456789abcdef0",)


@pytest.mark.parametrize(
    ("fixture", "region", "field", "rate"),
    [
        ("ses-bounce-subject.eml", "us-west-2", "bounce_rate", 12.5),
        ("ses-complaint-subject.eml", "eu-west-1", "complaint_rate", 0.62),
        ("ses-vulnerable-site.eml", "us-east-1", None, None),
        ("ses-review-other.eml", "sa-east-1", None, None),
    ],
)
def test_ses_region_names_and_rates(fixture: str, region: str, field: str | None, rate: float | None) -> None:
    facts = notice_of(mail_bytes(fixture)).facts
    assert facts.regions == (region,)
    if field:
        assert getattr(facts, field) == rate


def test_review_period_end_is_the_reply_by_date() -> None:
    facts = notice_of(mail_bytes("ses-vulnerable-site.eml")).facts
    assert facts.reply_by == datetime(2026, 12, 10, tzinfo=UTC)


def test_wrapped_lines_do_not_hide_a_rule_or_a_fact() -> None:
    notice = notice_of(mail_bytes("ses-probation-body.eml"))  # "bounce rate\nis 10.6%"
    assert (notice.kind, notice.stage, notice.facts.bounce_rate) == (Kind.SES_BOUNCE, Stage.NOTICE, 10.6)


@pytest.mark.parametrize("fixture", ["ses-probation-subject.eml", "ses-probation-body.eml"])
def test_probation_is_the_older_name_of_the_ses_review(fixture: str) -> None:
    notice = notice_of(mail_bytes(fixture))
    assert notice.kind is Kind.SES_BOUNCE and notice.stage is Stage.NOTICE


def test_a_paused_ses_account_is_stage_paused() -> None:
    notice = notice_of(mail_bytes("ses-review-other.eml"))  # "we have paused your account's ability to send"
    assert (notice.kind, notice.stage) == (Kind.SES_REVIEW, Stage.PAUSED)


def test_masked_values_are_not_facts() -> None:
    notice = notice_of(mail_bytes("masked-values.eml"))
    assert notice.kind is Kind.ACCOUNT_COMPROMISED
    facts = notice.facts
    assert (facts.account_id, facts.access_key_ids, facts.iam_users, facts.ip_addresses) == (None, (), (), ())


def test_japanese_notice_with_encoded_subject() -> None:
    notice = notice_of(mail_bytes("account-hold-ja.eml"))
    assert notice.kind is Kind.ACCOUNT_HOLD
    assert notice.title == "【重要】AWS アカウントの保留について"
    assert notice.facts.account_id == "555566667777"


def test_aws_mail_without_a_rule_is_aws_other_and_names_its_resources() -> None:
    notice = notice_of(mail_bytes("ec2-retirement.eml"))
    assert (notice.kind, notice.rule_id) == (Kind.AWS_OTHER, None)
    assert notice.facts.instance_ids == ("i-0d1e2f3a4b5c6d7e8",)


def test_scam_inside_an_sns_confirmation_is_not_a_compromise_notice() -> None:
    assert notice_of(mail_bytes("aws-other-sns-confirmation.eml")).kind is Kind.AWS_OTHER


def test_mail_from_a_stranger_is_not_aws() -> None:
    raw = b"From: Bob <bob@example.org>\nSubject: lunch?\nDate: Fri, 27 Nov 2026 10:00:00 +0000\n\nhi\n"
    assert notice_of(raw).kind is Kind.NOT_AWS


def test_facts_to_json_names_every_field_in_order_and_round_trips() -> None:
    # to_json is spelled out field by field (a hot path): a new field must not be left out, and
    # the key order is the stored JSON text's.
    facts = Facts(
        account_id="123456789012",
        case_ref="12345678901",
        access_key_ids=("AKIAIOSFODNN7EXAMPLE",),
        iam_users=("deploy",),
        exposed_urls=("https://example.com/.env",),
        instance_ids=("i-0123456789abcdef0",),
        ip_addresses=("198.51.100.7",),
        ports=(22, 3389),
        regions=("us-east-1",),
        abuse_types=("port-scan",),
        abuse_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        bounce_rate=0.051,
        complaint_rate=0.002,
        reply_by=datetime(2026, 1, 7, tzinfo=UTC),
        mitigations=("blocked port 22",),
        aws_cross_check="verified",
    )
    data = facts.to_json()
    assert list(data) == list(Facts.__dataclass_fields__)
    assert data["ports"] == [22, 3389] and data["abuse_time"] == "2026-01-02T03:04:05+00:00"
    assert Facts.from_json(data) == facts
    assert list(facts.json_fields()) == list(data)
    assert json.dumps(facts.json_fields()) == json.dumps(data)  # the text triage stores
    assert Facts.from_json(facts.json_fields()) == facts
    empty = Facts().to_json()
    assert all(
        value == [] if isinstance(getattr(Facts(), name), tuple) else value is None
        for name, value in empty.items()
    )


@pytest.mark.parametrize("written", ["March 20, 2027", "March 20 2027", "December 4, 2026"])
def test_a_stated_date_with_a_two_digit_day_keeps_its_year(written: str) -> None:
    raw = mail_bytes("ses-vulnerable-site.eml")
    head, _ = raw.split(b"\n\n", 1)
    body = f"Please respond by {written} through the AWS Support Center.\n".encode()
    facts = notice_of(head + b"\n\n" + body).facts
    expected = datetime.strptime(written.replace(",", ""), "%B %d %Y").replace(tzinfo=UTC)
    assert facts.reply_by == expected
