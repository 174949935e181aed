"""The fast MIME path builds exactly the ``Message`` compat32's feedparser builds, or steps aside.

Every fixture mail and generated messages (odd header lines, CR/LF mixes, 8-bit bytes, boundary
look-alikes, nested multiparts, missing or doubled boundaries) are parsed both ways: when the fast
path answers, headers, payloads, preambles, epilogues and defects are the same part by part, and so
is everything read from them (``parse_message``, ``original_of``).
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from noticedesk.mail.fastmime import parse_fast
from noticedesk.mail.forwarded import original_of
from noticedesk.mail.parse import parse_message

ROOT = Path(__file__).parent.parent
FIXTURES = sorted(
    [*ROOT.joinpath("tests").rglob("*.eml"), *ROOT.joinpath("noticedesk", "demo", "samples").rglob("*.eml")]
)


def _shape(message: Message) -> dict[str, Any]:
    """Everything the feedparser sets on a message, its parts' too, and what the readers return."""
    payload = message.get_payload()
    return {
        "raw_items": list(message.raw_items()),
        "items": [(name, str(value)) for name, value in message.items()],
        "unixfrom": message.get_unixfrom(),
        "default_type": message.get_default_type(),
        "content_type": message.get_content_type(),
        "charset": message.get_content_charset(),
        "preamble": message.preamble,
        "epilogue": message.epilogue,
        "defects": [type(defect) for defect in message.defects],
        "payload": [_shape(part) for part in payload] if isinstance(payload, list) else payload,
        "decoded": None if message.is_multipart() else message.get_payload(decode=True),
        "bytes": message.as_bytes(),
    }


def _assert_same(raw: bytes) -> bool:
    """Whether the fast path answered; when it did, that it matches the feedparser throughout."""
    fast = parse_fast(raw)
    if fast is None:
        return False
    full = BytesParser().parsebytes(raw)
    assert _shape(fast) == _shape(full)
    assert parse_message(fast) == parse_message(full)
    assert original_of(fast, parse_message(fast)) == original_of(full, parse_message(full))
    return True


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name)
def test_every_fixture_parses_the_same(path: Path) -> None:
    raw = path.read_bytes()
    _assert_same(raw)
    _assert_same(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def test_the_fixtures_mostly_take_the_fast_path() -> None:
    taken = [path.name for path in FIXTURES if _assert_same(path.read_bytes())]
    assert len(taken) >= len(FIXTURES) * 3 // 4, sorted({path.name for path in FIXTURES} - set(taken))


def _mail(head: str, body: str, newline: str = "\n") -> bytes:
    return (head + "\n" + body).replace("\n", newline).encode("utf-8", "surrogateescape")


HEAD = (
    "Return-Path: <bounce-1@amazonses.com>\nReceived: from a1.smtp-out.amazonses.com\n"
    "\tby mx.example.jp with ESMTPS\nFrom: Amazon Web Services <no-reply-aws@amazon.com>\n"
    "To: ops@example.jp\nSubject: Your AWS Account 111122223333 is Compromised\n"
    "Date: Thu, 01 Jan 2026 00:07:00 +0000\nMessage-ID: <bench-1@email.amazonses.com>\nMIME-Version: 1.0\n"
)
ALTERNATIVE = (
    'Content-Type: multipart/alternative; boundary="alt"\n',
    "--alt\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n"
    "Hello,=20\nsee https://console.aws.amazon.com/ .\n\n--alt\n"
    "Content-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n"
    "PHA+SGVsbG8sPC9wPg==\n\n--alt--\n",
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(
    ("extra", "body"),
    [
        ("Content-Type: text/plain; charset=UTF-8\n", "Hello,\n\nPlease reply.\n"),
        ALTERNATIVE,
        (
            'Content-Type: multipart/mixed; boundary="mixed"\n',
            "preamble\n--mixed\n" + ALTERNATIVE[0] + "\n" + ALTERNATIVE[1] + "\n--mixed\n"
            "Content-Type: text/plain\nContent-Disposition: attachment; filename=log.txt\n\nlog\n"
            "--mixed--\nepilogue\n",
        ),
    ],
)
def test_the_shapes_notices_come_in_take_the_fast_path(extra: str, body: str, newline: str) -> None:
    assert _assert_same(_mail(HEAD + extra, body, newline))


@pytest.mark.parametrize(
    "raw",
    [
        _mail("From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + HEAD, "body\n"),  # envelope line
        _mail(HEAD.replace("To:", "To :"), "body\n"),  # not a field name: the body starts there
        HEAD.encode(),  # no blank line
        _mail(HEAD + ALTERNATIVE[0], ALTERNATIVE[1].replace("--alt--\n", "")),  # truncated
        _mail(HEAD + ALTERNATIVE[0], ALTERNATIVE[1].replace("--alt\n", "")),  # only the close boundary
        _mail(HEAD + ALTERNATIVE[0], ALTERNATIVE[1].replace("\n\n--alt\n", "\n--alt\n--alt\n")),  # doubled
        _mail(HEAD + "Content-Type: message/rfc822\n", HEAD + "\nbody\n"),
        _mail(HEAD + "Content-Type: multipart/digest; boundary=d\n", "--d\n\n" + HEAD + "\nx\n--d--\n"),
        _mail(HEAD + "Content-Type: multipart/mixed\n", "no boundary\n"),
        _mail(HEAD + 'Content-Type: multipart/mixed; boundary="x\n y"\n', "--x\n y\n\nhi\n--x\n y--\n"),
        _mail(HEAD + ALTERNATIVE[0] + "Content-Transfer-Encoding: base64\n", ALTERNATIVE[1]),
        _mail(HEAD + ALTERNATIVE[0], ALTERNATIVE[1].replace("Hello,=20\n", "Hello,\r=20\n")),  # bare CR
    ],
)
def test_what_the_feedparser_reads_its_own_way_is_left_to_it(raw: bytes) -> None:
    assert parse_fast(raw) is None


# Generated messages: pieces chosen to land on every rule of the feedparser; each odd piece is
# drawn rarely, so that a third or more of the messages still take the fast path.
_BOUNDARIES = ["b", "alt", "=_Part_1", "b--", "a:b", "b b", "x y", "x\n y"]
_ODD_CHARACTERS = ["\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\udcff", "\r", ":", "\t"]
_TEXT = st.text(st.sampled_from([*"aZ09 -<>@.?=;", '"']), max_size=12)


def _rarely(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 11)) == 0


@st.composite
def _text(draw: st.DrawFn) -> str:
    text = draw(_TEXT)
    if _rarely(draw):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(_ODD_CHARACTERS)) + text[at:]
    return text


@st.composite
def _header(draw: st.DrawFn) -> str:
    name = draw(
        st.sampled_from(["From", "To", "Subject", "Date", "X-Note", "Received", "content-type", "X-"])
    )
    if _rarely(draw):
        name = draw(st.sampled_from(["", "From ", "Bad Name", " Folded", ">From", "A\udcff"]))
    colon = ":" if not _rarely(draw) else ""
    folded = "".join(
        "\n" + draw(st.sampled_from([" ", "\t", "  "])) + draw(_text())
        for _ in range(draw(st.integers(0, 2)))
    )
    return f"{name}{colon}{draw(_text())}{folded}\n"


@st.composite
def _leaf(draw: st.DrawFn, boundaries: list[str]) -> tuple[str, str]:
    content_type = draw(
        st.sampled_from(["text/plain", "text/html", "text/plain; charset=utf-8", "application/x"])
    )
    if _rarely(draw):
        content_type = "message/rfc822"
    lines = [draw(_text()) for _ in range(draw(st.integers(0, 4)))]
    if _rarely(draw):  # a line that looks like a boundary line, or is one
        lines.append(
            "--" + draw(st.sampled_from(boundaries or ["b"])) + draw(st.sampled_from(["", "--", " ", "x"]))
        )
    return f"Content-Type: {content_type}\n", "".join(line + "\n" for line in lines)


@st.composite
def _entity(draw: st.DrawFn, depth: int, boundaries: list[str]) -> tuple[str, str]:
    """(header lines, body) of a leaf or of a multipart."""
    if depth >= 3 or not draw(st.integers(0, 2)):
        return draw(_leaf(boundaries))
    unused = [boundary for boundary in _BOUNDARIES if boundary not in boundaries]
    boundary = draw(st.sampled_from(_BOUNDARIES if _rarely(draw) else unused))
    inner = [*boundaries, boundary]
    subtype = "digest" if _rarely(draw) else draw(st.sampled_from(["mixed", "alternative", "related"]))
    quoted = draw(st.sampled_from([f'"{boundary}"', f'"{boundary}" ', boundary.replace(" ", "") or boundary]))
    head = f"Content-Type: multipart/{subtype}; boundary={quoted if not _rarely(draw) else ''}\n"
    body = draw(st.sampled_from(["", "", "preamble\n", "pre\n\n"]))
    for _ in range(draw(st.integers(0 if _rarely(draw) else 1, 3))):
        part_head, part_body = draw(_entity(depth + 1, inner))
        separator = draw(st.sampled_from([f"--{boundary}\n", f"--{boundary} \t\n"]))
        if _rarely(draw):
            separator += separator
        blank = "\n" if not _rarely(draw) else ""
        body += separator + part_head + blank + part_body + draw(st.sampled_from(["\n", ""]))
    close = draw(st.sampled_from([f"--{boundary}--\n", f"--{boundary}--", f"--{boundary}-- \n"]))
    body += close if not _rarely(draw) else ""
    body += draw(st.sampled_from(["", "epilogue\n", "\n", "\n\n"]))
    return head, body


@st.composite
def _message(draw: st.DrawFn) -> bytes:
    fields = "".join(draw(st.lists(_header(), max_size=4)))
    head, body = draw(_entity(0, []))
    text = (fields + head if draw(st.booleans()) else head + fields) + "\n" + body
    newline = draw(st.sampled_from(["\n", "\r\n", "mixed" if _rarely(draw) else "\n"]))
    if newline == "mixed":
        lines = text.split("\n")
        text = "".join(line + draw(st.sampled_from(["\n", "\r\n", "\r"])) for line in lines[:-1]) + lines[-1]
    else:
        text = text.replace("\n", newline)
    return text.encode("utf-8", "surrogateescape")


@given(_message())
@settings(max_examples=600, deadline=None)
def test_generated_messages_parse_the_same(raw: bytes) -> None:
    event("fast path" if _assert_same(raw) else "feedparser")


@given(st.binary(max_size=600))
@settings(max_examples=500, deadline=None)
def test_arbitrary_bytes_parse_the_same(raw: bytes) -> None:
    _assert_same(raw)
