"""Where messages come from: .eml, mbox (streamed, ">From " unescaped), Maildir, stdin, Health JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

from triage_helpers import HEALTH, MAILS, mail_bytes, mbox_of

from noticedesk.mail.readers import RawItem, read_sources, split_health, split_mbox

NAMES = ("abuse-subject-portscan.eml", "compromised-subject.eml", "ses-bounce-subject.eml")


def test_single_eml_is_one_item() -> None:
    items = list(read_sources([str(MAILS / NAMES[0])]))
    assert items == [RawItem(str(MAILS / NAMES[0]), None, mail_bytes(NAMES[0]), "mail")]


def test_mbox_yields_every_message_with_its_index(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(mbox_of(*(mail_bytes(name) for name in NAMES)))
    items = list(read_sources([str(path)]))
    assert [item.index for item in items] == [0, 1, 2]
    assert [item.raw.rstrip(b"\n") for item in items] == [mail_bytes(name).rstrip(b"\n") for name in NAMES]


def test_mbox_from_lines_in_bodies_are_unescaped(tmp_path: Path) -> None:
    body = b"Subject: x\nFrom: a@b.example\n\nFrom the start we saw it.\n>From quoted already.\n"
    path = tmp_path / "escaped.mbox"
    path.write_bytes(mbox_of(body, body))
    items = list(read_sources([str(path)]))
    assert len(items) == 2  # the body's "From the start" did not split a message
    assert items[0].raw.rstrip(b"\n") == body.rstrip(b"\n")


def test_mbox_is_streamed_not_loaded() -> None:
    stream = io.BytesIO(mbox_of(*(mail_bytes(name) for name in NAMES * 100)))
    first = next(split_mbox(stream, "big.mbox"))
    assert first.index == 0
    assert stream.tell() < len(stream.getvalue()) // 10  # only the start was read


def test_maildir_reads_new_then_cur_and_skips_dot_files(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "1.host").write_bytes(mail_bytes(NAMES[0]))
    (tmp_path / "cur" / "2.host:2,S").write_bytes(mail_bytes(NAMES[1]))
    (tmp_path / "cur" / ".hidden").write_bytes(b"junk")
    (tmp_path / "tmp" / "3.host").write_bytes(mail_bytes(NAMES[2]))  # still being delivered
    items = list(read_sources([str(tmp_path)]))
    assert [item.raw for item in items] == [mail_bytes(NAMES[0]), mail_bytes(NAMES[1])]


def test_plain_folder_reads_its_files(tmp_path: Path) -> None:
    for name in NAMES:
        (tmp_path / name).write_bytes(mail_bytes(name))
    assert len(list(read_sources([str(tmp_path)]))) == 3


def test_stdin_one_message_or_an_mbox() -> None:
    one = list(read_sources(["-"], stdin=io.BytesIO(mail_bytes(NAMES[0]))))
    assert [(item.source, item.raw) for item in one] == [("<stdin>", mail_bytes(NAMES[0]))]
    mbox = list(read_sources(["-"], stdin=io.BytesIO(mbox_of(mail_bytes(NAMES[0]), mail_bytes(NAMES[1])))))
    assert [item.index for item in mbox] == [0, 1]


def test_health_one_event_a_list_and_json_lines() -> None:
    one = list(read_sources([str(HEALTH / "risk-credentials-exposed.json")]))
    assert [(item.format, item.index) for item in one] == [("health", None)]
    many = list(read_sources([str(HEALTH / "abuse-events.json")]))
    assert [(item.format, item.index) for item in many] == [("health", 0), ("health", 1)]
    lines = list(read_sources([str(HEALTH / "events.jsonl")]))
    assert [(item.format, item.index) for item in lines] == [("health", 0), ("health", 1)]
    assert json.loads(lines[1].raw)["detail"]["eventTypeCode"] == "AWS_SES_BOUNCE_REVIEW"


def test_health_json_from_stdin() -> None:
    raw = (HEALTH / "risk-credentials-exposed.json").read_bytes()
    assert [item.format for item in read_sources(["-"], stdin=io.BytesIO(raw))] == ["health"]


def test_a_file_name_that_is_not_utf8_is_labelled_with_escapes(tmp_path: Path) -> None:
    raw = b"From: a@example.org\nSubject: x\n\nhi\n"
    (tmp_path / "bad\udcffname.eml").write_bytes(raw)  # the byte 0xff in the name, as os sees it
    missing = str(tmp_path / "gone\udcfe.eml")
    (item,), (gone,) = list(read_sources([str(tmp_path)])), list(read_sources([missing]))
    assert item.source.endswith("bad\\xffname.eml") and item.raw == raw and item.error is None
    assert gone.source.endswith("gone\\xfe.eml") and gone.error == "no such file or folder"
    for label in (item.source, gone.source):
        label.encode("utf-8")  # storable and printable: no lone surrogate left


def test_health_json_nested_too_deeply_is_one_bad_input_not_a_crash() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    (item,) = list(split_health(deep, "deep.json"))
    assert item.error == "not valid JSON: nested too deeply" and item.raw == deep
    lines = b'{"detail": 1}\n' + b"[" * 200_000 + b"\n"  # JSON lines, one of them nested too deeply
    (item,) = list(split_health(lines, "deep.jsonl"))
    assert item.error == "not valid JSON: nested too deeply"
