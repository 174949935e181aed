"""MIME shapes and charsets: the same notice, however it is encoded, classifies the same."""

from __future__ import annotations

import base64
import contextlib
import quopri
from datetime import UTC, datetime
from email.header import Header
from email.utils import getaddresses, parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from triage_helpers import mail_bytes, notice_of, original

from noticedesk.errors import ParseError
from noticedesk.mail.html import html_to_text
from noticedesk.mail.parse import (
    _MONTHS,
    _PLAIN_DATE,
    _URL,
    _first_address,
    _text_links,
    decode_bytes,
    parse_bytes,
    parse_date,
)

FIXTURES = ("abuse-subject-portscan.eml", "account-hold-ja.eml", "compromised-subject.eml")
SENDER = "Amazon Web Services <no-reply-aws@amazon.com>"


def _head(subject: str, extra: str = "") -> bytes:
    return (
        f"From: {SENDER}\nTo: ops@example.jp\nSubject: {subject}\n"
        f"Date: Fri, 27 Nov 2026 03:00:00 +0000\nMessage-ID: <rebuilt@amazon.com>\n"
        f"MIME-Version: 1.0\n{extra}"
    ).encode()


def _part(body: bytes, content_type: str, charset: str, encoding: str) -> bytes:
    encoded = {
        "quoted-printable": lambda data: quopri.encodestring(data),
        "base64": lambda data: base64.encodebytes(data),
        "7bit": lambda data: data,
        "8bit": lambda data: data,
    }[encoding](body)
    return (
        f'Content-Type: {content_type}; charset="{charset}"\nContent-Transfer-Encoding: {encoding}\n\n'
    ).encode() + encoded


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
    return f"<html><head><style>p {{ margin: 0 }}</style></head><body>{paragraphs}</body></html>"


def _encoded_subject(subject: str, charset: str) -> str:
    return Header(subject, charset).encode() if not subject.isascii() else subject


def _same(raw: bytes, fixture: str) -> None:
    expected, got = notice_of(mail_bytes(fixture)), notice_of(raw)
    assert (got.kind, got.stage, got.rule_id, got.facts) == (
        expected.kind,
        expected.stage,
        expected.rule_id,
        expected.facts,
    )
    assert got.title == expected.title


@pytest.mark.parametrize("fixture", FIXTURES)
@pytest.mark.parametrize(
    ("charset", "encoding"),
    [
        ("utf-8", "quoted-printable"),
        ("utf-8", "base64"),
        ("iso-2022-jp", "7bit"),
        ("shift_jis", "base64"),
        ("shift_jis", "8bit"),
        ("x-sjis", "quoted-printable"),
    ],
)
def test_single_part_encodings(fixture: str, charset: str, encoding: str) -> None:
    mail = original(mail_bytes(fixture))
    codec = {"x-sjis": "shift_jis"}.get(charset, charset)  # the alias mail programs write
    raw = _head(_encoded_subject(mail.subject, codec)) + _part(
        mail.text.encode(codec), "text/plain", charset, encoding
    )
    _same(raw, fixture)


@pytest.mark.parametrize("fixture", FIXTURES)
def test_multipart_alternative_prefers_the_plain_part(fixture: str) -> None:
    mail = original(mail_bytes(fixture))
    boundary = "==alt=="
    raw = (
        _head(
            _encoded_subject(mail.subject, "utf-8"),
            f'Content-Type: multipart/alternative; boundary="{boundary}"\n',
        )
        + f"\n--{boundary}\n".encode()
        + _part(mail.text.encode(), "text/plain", "utf-8", "quoted-printable")
        + f"\n--{boundary}\n".encode()
        + _part(_html("nothing to see").encode(), "text/html", "utf-8", "base64")
        + f"\n--{boundary}--\n".encode()
    )
    _same(raw, fixture)


@pytest.mark.parametrize("fixture", FIXTURES)
@pytest.mark.parametrize("charset", ["utf-8", "iso-2022-jp"])
def test_html_only_mail_is_read_as_text(fixture: str, charset: str) -> None:
    mail = original(mail_bytes(fixture))
    html = _html(mail.text).encode(charset)
    raw = _head(_encoded_subject(mail.subject, charset)) + _part(html, "text/html", charset, "base64")
    _same(raw, fixture)


def test_html_links_keep_their_visible_text() -> None:
    html = '<p>Sign in at <a href="https://evil.example.net/">https://console.aws.amazon.com/</a></p>'
    raw = _head("Notice") + _part(html.encode(), "text/html", "utf-8", "7bit")
    assert original(raw).links == (("https://console.aws.amazon.com/", "https://evil.example.net/"),)


def test_rfc2047_q_encoded_subject() -> None:
    raw = _head('=?iso-2022-jp?q?=1B$B%"%+%&%s%H=1B(B?= 111122223333') + b"\nbody\n"
    assert original(raw).subject == "アカウント 111122223333"


def test_unknown_charset_is_decoded_as_utf8_with_a_warning() -> None:
    mail = original(mail_bytes("abuse-subject-portscan.eml"))
    raw = _head(mail.subject) + _part(mail.text.encode(), "text/plain", "x-klingon", "8bit")
    _message, parsed = parse_bytes(raw, "x.eml")
    assert parsed.warnings == ("unknown charset 'x-klingon'; decoded as utf-8",)
    _same(raw, "abuse-subject-portscan.eml")


def test_wrongly_declared_charset_falls_back_to_cp932() -> None:
    text, warning = decode_bytes("保留されています".encode("cp932"), "utf-8")
    assert text == "保留されています"
    assert warning == "text is not valid utf-8; decoded as cp932"


@pytest.mark.parametrize("charset", ["idna", "base64", "rot13", "utf-8\x00", "punycode", "utf-7"])
def test_odd_charset_names_never_raise(charset: str) -> None:
    text, _warning = decode_bytes(b"\xff\xfe" + b"x" * 80 + b"." * 70, charset)
    assert isinstance(text, str)


def test_attachments_are_not_read_as_the_body() -> None:
    boundary = "==mixed=="
    raw = (
        _head("Notice", f'Content-Type: multipart/mixed; boundary="{boundary}"\n')
        + f"\n--{boundary}\n".encode()
        + _part(b"the body", "text/plain", "utf-8", "7bit")
        + f"\n--{boundary}\nContent-Disposition: attachment; filename=log.txt\n".encode()
        + _part(b"AKIA2E0A8F3B244C9986", "text/plain", "utf-8", "7bit")
        + f"\n--{boundary}--\n".encode()
    )
    assert original(raw).text.strip() == "the body"


@given(st.binary(max_size=2_000))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_raise_nothing_but_parse_error(raw: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_bytes(raw, "fuzz")


_header_value = st.text(
    st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=60
) | st.sampled_from(["=?utf-8?b?!!!?=", "=?x-bad?q?=ZZ?=", "=?iso-2022-jp?b?GyRC?=", "<a@b>", ""])


@given(
    subject=_header_value,
    sender=_header_value,
    charset=st.sampled_from(["utf-8", "iso-2022-jp", "shift_jis", "x-none", "idna", "base64", ""]),
    encoding=st.sampled_from(["base64", "quoted-printable", "7bit", "x-uuencode", "bogus"]),
    content_type=st.sampled_from(["text/plain", "text/html", "multipart/mixed", "message/rfc822"]),
    body=st.binary(max_size=500),
)
@settings(max_examples=300, deadline=None)
def test_arbitrary_mails_raise_nothing_but_parse_error(
    subject: str, sender: str, charset: str, encoding: str, content_type: str, body: bytes
) -> None:
    raw = (
        f"From: {sender}\nSubject: {subject}\nDate: {subject}\nIn-Reply-To: {sender}\n"
        f"Content-Type: {content_type}; charset={charset}; boundary=x\n"
        f"Content-Transfer-Encoding: {encoding}\n\n"
    ).encode("utf-8", "surrogateescape") + body
    with contextlib.suppress(ParseError):
        notice_of(raw)


@pytest.mark.parametrize(
    "value", ["Fri, 31 Dec 9999 23:59:59 -1200", "yesterday", "Fri, 1 Jan 2026 99:99:99 +0000"]
)
def test_impossible_dates_are_no_date(value: str) -> None:
    raw = _head("Notice").replace(b"Date: Fri, 27 Nov 2026 03:00:00 +0000", f"Date: {value}".encode())
    assert original(raw + b"\nbody\n").date is None


# The shortcuts parse_message takes give what the general readers give (tests/test_fastmime.py
# holds the fast MIME parser to the feedparser).
_DATE_PARTS = st.tuples(
    st.sampled_from(["", "Thu, ", "Mon, ", "Sun, "]),
    st.sampled_from([1, 2]),
    st.integers(0, 39),
    st.sampled_from(list(_MONTHS)),
    st.integers(1000, 9999) | st.sampled_from([1970, 2026, 9999]),
    st.integers(0, 29),
    st.integers(0, 69),
    st.integers(0, 69),
    st.sampled_from(["+", "-"]),
    st.integers(0, 99),
    st.integers(0, 99),
)


def _reference_date(value: str) -> datetime | None:
    """parse_date as it was: email.utils.parsedate_to_datetime for every value."""
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@given(_DATE_PARTS)
@settings(max_examples=500, deadline=None)
def test_plain_dates_read_directly_equal_parsedate_to_datetime(parts: tuple[object, ...]) -> None:
    weekday, width, day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = parts
    zone = f"{sign}{zone_hours:02}{zone_minutes:02}"
    value = f"{weekday}{day:0{width}} {month} {year} {hour:02}:{minute:02}:{second:02} {zone}"
    assert _PLAIN_DATE.fullmatch(value)
    got, expected = parse_date(value), _reference_date(value)
    assert got == expected
    assert got is None or got.tzinfo is UTC


_ATOM = st.text(st.sampled_from([*"aZ09_+-", "."]), min_size=1, max_size=6)


@given(
    st.tuples(
        st.sampled_from(["", "<", " <"]),
        _ATOM,
        st.sampled_from(["@", "@@", ""]),
        _ATOM,
        st.sampled_from(["", ">", "> "]),
    )
)
@settings(max_examples=500, deadline=None)
def test_plain_addresses_read_directly_equal_getaddresses(parts: tuple[str, ...]) -> None:
    value = "".join(parts)
    pairs = [(name, address) for name, address in getaddresses([value]) if address]
    expected = (pairs[0][0], pairs[0][1].strip().lower()) if pairs else ("", "")
    assert _first_address(value) == expected


_LINK_TEXT = st.lists(
    st.sampled_from(
        ["http", "HTTPS", "httpſ", "hTTp", "://", ":/", "a", ".", " ", "\n", ")", "<", "'", "x.com/p"]
    ),
    max_size=30,
).map("".join)


@given(_LINK_TEXT)
@settings(max_examples=500, deadline=None)
def test_text_links_are_the_url_pattern_s_matches(text: str) -> None:
    assert _text_links(text) == [(url, url) for url in _URL.findall(text)]


@given(
    st.lists(
        st.sampled_from(["<p>", "</p>", "<b>", "<abbr>", "<A", "<a", " href='x'>", "</a>", "text", "<"]),
        max_size=12,
    ).map("".join)
)
@settings(max_examples=300, deadline=None)
def test_html_without_an_a_tag_start_has_no_link(html: str) -> None:
    if "<a" not in html and "<A" not in html:
        assert html_to_text(html)[1] == []
