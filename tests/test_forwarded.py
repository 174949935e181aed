"""A notice forwarded by a customer classifies the same as the original, in every shape seen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from triage_helpers import mail_bytes, notice_of, original

from noticedesk.mail.forwarded import _client_date, forwarded_date

CUSTOMER = "Taro Yamada <taro@customer.example.jp>"
ORIGINAL_FROM = "AWS Abuse <ec2-abuse@amazon.com>"


def _outer(subject: str, body: str, date: str = "Fri, 27 Nov 2026 14:00:00 +0900", extra: str = "") -> bytes:
    head = (
        f"From: {CUSTOMER}\nTo: desk@provider.example\nSubject: {subject}\nDate: {date}\n"
        f"Message-ID: <fwd-{abs(hash(body))}@customer.example.jp>\nMIME-Version: 1.0\n{extra}"
    )
    if not extra:
        head += "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
    return (head + "\n" + body).encode()


def gmail(subject: str, text: str) -> bytes:
    block = (
        f"---------- Forwarded message ---------\nFrom: {ORIGINAL_FROM}\n"
        f"Date: Fri, Nov 27, 2026 at 12:00 PM\nSubject: {subject}\nTo: <ops@example.jp>\n\n\n{text}"
    )
    return _outer(f"Fwd: {subject}", f"Please look at this.\n\n{block}")


def gmail_ja(subject: str, text: str) -> bytes:
    block = (
        f"---------- Forwarded message ---------\nFrom: {ORIGINAL_FROM}\n"
        f"Date: 2026年11月27日(金) 12:00\nSubject: {subject}\nTo: <ops@example.jp>\n\n\n{text}"
    )
    return _outer(f"転送: {subject}", f"確認お願いします。\n\n{block}")


def outlook(subject: str, text: str) -> bytes:
    block = (
        f"________________________________\nFrom: {ORIGINAL_FROM}\n"
        f"Sent: Friday, November 27, 2026 12:00 PM\nTo: ops@example.jp\nSubject: {subject}\n\n{text}"
    )
    return _outer(f"FW: {subject}", f"See below.\n\n{block}")


def outlook_ja(subject: str, text: str) -> bytes:
    block = (
        f"-----Original Message-----\n差出人: {ORIGINAL_FROM}\n送信日時: 2026年11月27日 12:00\n"
        f"宛先: ops@example.jp\n件名: {subject}\n\n{text}"
    )
    return _outer(f"FW: {subject}", f"ご確認ください。\n\n{block}")


def apple(subject: str, text: str) -> bytes:
    block = (
        f"Begin forwarded message:\n\nFrom: {ORIGINAL_FROM}\nSubject: {subject}\n"
        f"Date: November 27, 2026 at 12:00:00 JST\nTo: ops@example.jp\n\n{text}"
    )
    return _outer(f"Fwd: {subject}", f"FYI\n\n{block}", date="Fri, 27 Nov 2026 06:00:00 -0800")


def thunderbird_ja(subject: str, text: str) -> bytes:
    block = (
        f"-------- 転送メッセージ --------\n件名: {subject}\n日付: Fri, 27 Nov 2026 03:00:00 +0000\n"
        f"差出人: {ORIGINAL_FROM}\n宛先: ops@example.jp\n\n{text}"
    )
    return _outer(f"転送: {subject}", block)


def quoted(subject: str, text: str) -> bytes:
    lines = [f"From: {ORIGINAL_FROM}", "Date: Fri, 27 Nov 2026 03:00:00 +0000", f"Subject: {subject}", ""]
    lines += text.splitlines()
    return _outer(f"Fwd: {subject}", "\n".join(f"> {line}" for line in lines))


def outlook_html(subject: str, text: str) -> bytes:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    html = (
        "<html><body><p>See below.</p><hr>"
        f"<div><b>From:</b> AWS Abuse &lt;ec2-abuse@amazon.com&gt;<br><b>Sent:</b> Friday, November 27,"
        f" 2026 12:00 PM<br><b>To:</b> ops@example.jp<br><b>Subject:</b> {subject}</div>{paragraphs}"
        "</body></html>"
    )
    extra = "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
    return _outer(f"FW: {subject}", html, extra=extra)


def attached(subject: str, text: str) -> bytes:
    del text
    inner = mail_bytes("abuse-subject-portscan.eml").decode()
    body = (
        "--b1\nContent-Type: text/plain; charset=utf-8\n\nForwarding the AWS mail.\n"
        "--b1\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=aws.eml\n\n"
        f"{inner}\n--b1--\n"
    )
    return _outer(f"Fwd: {subject}", body, extra='Content-Type: multipart/mixed; boundary="b1"\n')


STYLES: list[Callable[[str, str], bytes]] = [
    gmail,
    gmail_ja,
    outlook,
    outlook_ja,
    apple,
    thunderbird_ja,
    quoted,
    outlook_html,
    attached,
]


@pytest.mark.parametrize("style", STYLES, ids=lambda style: style.__name__)
def test_forward_classifies_as_the_original(style: Callable[[str, str], bytes]) -> None:
    source = original(mail_bytes("abuse-subject-portscan.eml"))
    expected = notice_of(mail_bytes("abuse-subject-portscan.eml"))
    forward = style(source.subject, source.text)
    mail = original(forward)
    got = notice_of(forward)
    assert (got.kind, got.stage, got.rule_id, got.facts, got.title) == (
        expected.kind,
        expected.stage,
        expected.rule_id,
        expected.facts,
        expected.title,
    )
    assert mail.forwarded_by == "taro@customer.example.jp"
    assert mail.from_address == "ec2-abuse@amazon.com"
    assert got.received_at == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # the original's Date


def test_japanese_notice_forwarded_with_a_japanese_subject() -> None:
    source = original(mail_bytes("account-hold-ja.eml"))
    forward = thunderbird_ja(source.subject, source.text)
    assert notice_of(forward).facts == notice_of(mail_bytes("account-hold-ja.eml")).facts
    assert original(forward).subject == "【重要】AWS アカウントの保留について"


def test_an_aws_reply_quoting_the_customer_is_not_unwrapped() -> None:
    body = (
        "Thank you for your reply. We consider this case resolved.\n\n-----Original Message-----\n"
        "From: Taro <taro@customer.example.jp>\nSubject: instance fixed\n\nWe stopped it.\n"
    )
    raw = (
        "From: AWS Abuse <ec2-abuse@amazon.com>\nSubject: RE: Your Amazon EC2 Abuse Report "
        "[18000000001-1] [AWS ID 111122223333]\nDate: Sat, 28 Nov 2026 01:00:00 +0000\n\n" + body
    ).encode()
    mail = original(raw)
    assert mail.forwarded_by is None
    assert mail.from_address == "ec2-abuse@amazon.com"
    assert "We consider this case resolved" in mail.text


def test_marker_without_header_lines_is_not_a_forward() -> None:
    raw = (
        b"From: AWS <no-reply-aws@amazon.com>\nSubject: Fwd: notes\nDate: Sat, 28 Nov 2026 01:00:00 +0000\n\n"
        b"---------- Forwarded message ---------\njust some words\n"
    )
    assert original(raw).text.rstrip().endswith("just some words")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri, 27 Nov 2026 03:00:00 +0000", datetime(2026, 11, 27, 3, tzinfo=UTC)),
        ("Fri, Nov 27, 2026 at 12:00 PM", datetime(2026, 11, 27, 3, tzinfo=UTC)),
        ("2026年11月27日(金) 12:00", datetime(2026, 11, 27, 3, tzinfo=UTC)),
        ("November 27, 2026 at 4:00:00 AM PST", datetime(2026, 11, 27, 12, tzinfo=UTC)),
        ("not a date", None),
    ],
)
def test_forwarded_dates_are_read_in_the_forwarders_zone(value: str, expected: datetime | None) -> None:
    from datetime import timedelta, timezone

    assert forwarded_date(value, timezone(timedelta(hours=9))) == expected


@given(
    st.sampled_from(["", "Fri, ", "Sat, "]),
    st.integers(0, 35),
    st.sampled_from(["Jan", "Feb", "Nov", "Dec"]),
    st.integers(1000, 9999),
    st.integers(0, 25),
    st.integers(0, 61),
    st.sampled_from(["+0000", "-0000", "+0900", "-1200", "+9999", "-0530"]),
    st.sampled_from([None, timezone(timedelta(hours=9))]),
)
@settings(max_examples=300, deadline=None)
def test_rfc5322_forwarded_dates_skip_the_client_shapes_with_the_same_answer(
    weekday: str, day: int, month: str, year: int, hour: int, minute: int, zone: str, local: timezone | None
) -> None:
    value = f"{weekday}{day} {month} {year} {hour:02}:{minute:02}:07 {zone}"
    assert forwarded_date(value, local) == _client_date(value, local)
