"""The rule table, walked: every cue fires on a fixture it helps decide; every fixture reads right."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache

import pytest
from families import families, mail_of
from triage_helpers import MAILS, mail_bytes, notice_of, original

from noticedesk.notices.model import ABUSE_TYPES, Facts, Kind, Notice, Stage
from noticedesk.notices.rules import rule_table

EXPECTED = {
    "abuse-body-spam.eml": ("abuse-report", "notice"),
    "abuse-copyright.eml": ("abuse-report", "notice"),
    "abuse-final-body-dos.eml": ("abuse-report", "final"),
    "abuse-final-openproxy.eml": ("abuse-report", "final"),
    "abuse-malware.eml": ("abuse-report", "notice"),
    "abuse-other.eml": ("abuse-report", "notice"),
    "abuse-phishing.eml": ("abuse-report", "notice"),
    "abuse-prohibited-content.eml": ("abuse-report", "notice"),
    "abuse-reminder-intrusion.eml": ("abuse-report", "reminder"),
    "abuse-reply.eml": ("abuse-report", "reply"),
    "abuse-resolved.eml": ("abuse-report", "resolved"),
    "abuse-subject-portscan.eml": ("abuse-report", "notice"),
    "account-hold-body.eml": ("account-hold", "notice"),
    "account-hold-ja.eml": ("account-hold", "notice"),
    "account-hold.eml": ("account-hold", "notice"),
    "aws-other-sns-confirmation.eml": ("aws-other", "notice"),
    "aws-other-sns-notification.eml": ("aws-other", "notice"),
    "compromised-exposed-key.eml": ("account-compromised", "notice"),
    "compromised-subject.eml": ("account-compromised", "notice"),
    "ec2-retirement.eml": ("aws-other", "notice"),
    "masked-values.eml": ("account-compromised", "notice"),
    "phishing-lookalike.eml": ("account-hold", "notice"),
    "ses-appeal-refused.eml": ("ses-review", "appeal-refused"),
    "ses-bounce-body.eml": ("ses-bounce", "notice"),
    "ses-bounce-subject.eml": ("ses-bounce", "notice"),
    "ses-complaint-body.eml": ("ses-complaint", "notice"),
    "ses-complaint-subject.eml": ("ses-complaint", "notice"),
    "ses-probation-body.eml": ("ses-bounce", "notice"),
    "ses-probation-subject.eml": ("ses-bounce", "notice"),
    "ses-review-other.eml": ("ses-review", "paused"),
    "ses-suspended.eml": ("ses-review", "paused"),
    "ses-vulnerable-site-body.eml": ("ses-vulnerable-site", "notice"),
    "ses-vulnerable-site.eml": ("ses-vulnerable-site", "notice"),
}
"""Each fixture mail's (kind, stage)."""
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


@cache
def every_fixture() -> tuple[tuple[str, bytes], ...]:
    """The fixture mails and every voice of every paraphrase family."""
    mails = [(path.name, path.read_bytes()) for path in sorted(MAILS.glob("*.eml"))]
    voices = [(voice.label, mail_of(voice)) for family in families() for voice in family.voices]
    return tuple(mails + voices)


@cache
def read_fixtures() -> tuple[tuple[str, bytes, Notice], ...]:
    return tuple((name, raw, notice_of(raw)) for name, raw in every_fixture())


def test_every_fixture_mail_reads_as_expected() -> None:
    got = {name: (n.kind.value, n.stage.value) for name, _, n in read_fixtures() if name.endswith(".eml")}
    assert got == EXPECTED


def test_every_cue_helps_decide_some_fixture() -> None:
    """A cue no fixture needs is a guess: each positive cue is among the deciding cues of some
    fixture; each negative one fires on a fixture read as another kind (it is what keeps it so)."""
    table = rule_table()
    deciding: set[str] = set()
    for _, _, notice in read_fixtures():
        assert notice.evidence is not None
        evidence = notice.evidence
        deciding |= {
            cue[0]
            for decision in (evidence.kind, evidence.stage, *evidence.abuse_types)
            for cue in decision.cues
        }
    positive = [rule.id for rule in (*table.kinds, *table.stages) if rule.weight > 0]
    positive += [cue.id for cue in table.abuse_types if cue.weight > 0]
    assert sorted(set(positive) - deciding) == []
    for rule in table.kinds:
        if rule.weight < 0:
            fired = []
            for _, raw, notice in read_fixtures():
                mail = original(raw)
                texts = (table.text(mail.subject, "subject"), table.text(" ".join(mail.text.split()), "body"))
                if rule.matches(*texts, table.text(mail.from_address.lower(), "sender")):
                    fired.append(notice.kind)
            assert fired and rule.kind not in fired, rule.id


def test_every_abuse_type_has_a_fixture() -> None:
    assert set(ABUSE_TYPES) == set(ABUSE_FIXTURES)
    assert {entry.label for entry in rule_table().abuse_types} | {"other"} == set(ABUSE_TYPES)


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


DATED = {
    "ses-complaint": (
        "Amazon SES complaint review",
        "Your complaint rate: 0.45%. Bring it down by December 10, 2026.",
    ),
    "ses-review": (
        "Amazon SES account review",
        "Your Amazon SES account is under review until 10 December 2026.",
    ),
    "ses-bounce": (
        "Amazon SES bounce review",
        "Your bounce rate of 9.8 percent must fall by December 10, 2026.",
    ),
    "account-compromised": (
        "Your AWS account 111122223333 is compromised",
        "Contact us by December 10, 2026.",
    ),
    "abuse-report": ("Your Amazon EC2 Abuse Report", "Port scanning reported. Reply by 2026-12-10."),
    "account-hold": ("AWS Account On Hold", "Verify your identity by December 10, 2026."),
    "ses-vulnerable-site": ("Amazon SES Vulnerable Site Review", "Fix the form until December 10, 2026."),
}


@pytest.mark.parametrize(("kind", "words"), sorted(DATED.items()))
def test_a_date_written_in_words_is_the_deadline_for_every_kind(kind: str, words: tuple[str, str]) -> None:
    from noticedesk.notices.clocks import clocks_for

    subject, text = words
    headers = (
        f"From: AWS <no-reply-aws@amazon.com>\nSubject: {subject}\nDate: Fri, 27 Nov 2026 03:00:00 +0000"
    )
    raw = f"{headers}\n\n{text}\n"
    notice = notice_of(raw.encode())
    assert notice.kind.value == kind
    assert notice.facts.reply_by == datetime(2026, 12, 10, tzinfo=UTC)
    assert clocks_for(notice, datetime(2026, 11, 27, 3, tzinfo=UTC)).reply_by == notice.facts.reply_by


def test_a_japanese_date_and_rate_in_a_forward_are_facts() -> None:
    body = "お客様\n\nAmazon SES の苦情率: 0.45%\n2026年12月10日までに苦情率を下げてください。\n"
    raw = (
        "From: Sato <sato@example.jp>\nSubject: =?utf-8?b?6Lui6YCBOiBBbWF6b24gU0VT?=\n"
        "Date: Fri, 27 Nov 2026 03:00:00 +0000\n"
        "Content-Type: text/plain; charset=utf-8\n\n転送します。\n\n-------- 転送メッセージ --------\n"
        "差出人: Amazon Web Services <no-reply-aws@amazon.com>\n件名: Amazon SES\n\n" + body
    )
    facts = notice_of(raw.encode()).facts
    assert (facts.complaint_rate, facts.reply_by) == (0.45, datetime(2026, 12, 10, tzinfo=UTC))


def test_every_port_of_a_list_is_a_fact() -> None:
    text = "Reported activity: spam\nPorts: 25, 465, 587\nalso port 2525 and 8025 / 9025"
    raw = f"From: AWS <ec2-abuse@amazon.com>\nSubject: Your Amazon EC2 Abuse Report\n\n{text}\n"
    assert notice_of(raw.encode()).facts.ports == (25, 465, 587, 2525, 8025, 9025)
