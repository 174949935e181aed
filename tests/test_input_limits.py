"""Hostile inputs cost a bounded amount: symlinks out of a folder, endless streams, missing files."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, select
from triage_helpers import mail_bytes, make_app, mbox_of

from noticedesk.cli import cli
from noticedesk.config import Config, InputConfig
from noticedesk.mail.readers import read_sources
from noticedesk.store.tables import messages, ses_feedback_messages
from tests.conftest import DATA

SECRET = b"root:$6$secret-hash-that-must-never-be-stored:19000:0:99999:7:::\n"
FEEDBACK = DATA / "ses" / "feedback.jsonl"


def _triage(
    engine: Engine, now: datetime, *arguments: str, cap_mib: float = 50.0, stdin: bytes = b""
) -> Result:
    app = make_app(engine, now)
    app.config = Config(input=InputConfig(max_message_mib=cap_mib))
    return CliRunner().invoke(cli, ["triage", "--json", *arguments], obj=app, input=stdin)


def _stored(engine: Engine) -> list[tuple[str, bytes]]:
    with engine.connect() as connection:
        return [(row.source, bytes(row.raw)) for row in connection.execute(select(messages))]


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    folder = tmp_path / "md"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "cur" / "1.eml").write_bytes(mail_bytes("compromised-subject.eml"))
    (tmp_path / "shadow").write_bytes(SECRET)
    return folder


def test_a_symlink_out_of_a_maildir_is_not_followed(maildir: Path, engine: Engine, now: datetime) -> None:
    (maildir / "cur" / "x").symlink_to(maildir.parent / "shadow")
    result = _triage(engine, now, str(maildir))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"warning: {maildir / 'cur' / 'x'}: symlink to outside the folder: not followed\n"
    assert len(result.stdout.splitlines()) == 1  # the real mail, and no line for the link
    assert all(SECRET not in raw for _, raw in _stored(engine))


def test_a_maildir_subfolder_linked_elsewhere_is_not_walked(
    maildir: Path, sqlite_engine: Engine, now: datetime
) -> None:
    elsewhere = maildir.parent / "etc"
    elsewhere.mkdir()
    (elsewhere / "shadow").write_bytes(SECRET)
    (maildir / "new").rmdir()
    (maildir / "new").symlink_to(elsewhere)
    result = _triage(sqlite_engine, now, str(maildir))
    assert "symlink to outside the folder" in result.stderr
    assert all(SECRET not in raw for _, raw in _stored(sqlite_engine))


def test_symlinks_in_a_plain_folder_loops_and_dangling_links_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.eml").write_bytes(mail_bytes("compromised-subject.eml"))
    (folder / "b-inside.eml").symlink_to(folder / "a.eml")  # stays in the folder: read
    (folder / "c-out").symlink_to(tmp_path / "shadow")
    (tmp_path / "shadow").write_bytes(SECRET)
    (folder / "d-loop").symlink_to(folder / "d-loop")
    (folder / "e-gone").symlink_to(folder / "nowhere")
    items = list(read_sources([str(folder)]))
    assert [(Path(item.source).name, item.format, item.error) for item in items] == [
        ("a.eml", "mail", None),
        ("b-inside.eml", "mail", None),
        ("c-out", "skipped", "symlink to outside the folder: not followed"),
        ("d-loop", "skipped", "symlink loop: not followed"),
        ("e-gone", "skipped", "symlink to nothing: not followed"),
    ]
    assert all(SECRET not in item.raw for item in items)


def test_good_mails_before_an_endless_input_are_stored(tmp_path: Path, engine: Engine, now: datetime) -> None:
    good1, good2 = tmp_path / "good1.eml", tmp_path / "good2.eml"
    good1.write_bytes(mail_bytes("compromised-subject.eml"))
    good2.write_bytes(mail_bytes("ses-bounce-subject.eml"))
    result = _triage(engine, now, str(good1), str(good2), "/dev/zero", cap_mib=1)
    assert result.exit_code == 1
    assert (
        result.stderr == "error: /dev/zero: larger than the 1 MiB cap ([input] max_message_mib): not read\n"
    )
    assert [json.loads(line)["case_id"] is not None for line in result.stdout.splitlines()] == [
        True,
        True,
        False,
    ]
    assert sorted(source for source, _ in _stored(engine)) == sorted([str(good1), str(good2), "/dev/zero"])


def test_endless_stdin_is_refused_in_one_line(sqlite_engine: Engine, now: datetime) -> None:
    with open("/dev/zero", "rb") as zeros:
        items = list(read_sources(["-"], stdin=zeros, max_bytes=1024 * 1024))
    assert [(item.source, item.error) for item in items] == [
        ("<stdin>", "larger than the 1 MiB cap ([input] max_message_mib): not read")
    ]
    big = b"x" * (2 * 1024 * 1024)
    result = _triage(sqlite_engine, now, "-", cap_mib=1, stdin=big)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1


def test_an_mbox_message_over_the_cap_is_refused_and_the_next_read(tmp_path: Path) -> None:
    huge = mail_bytes("compromised-subject.eml") + b"A" * 80 + b"\n" * 1
    huge += (b"B" * 1000 + b"\n") * 3000  # 3 MB
    mbox = mbox_of(mail_bytes("ses-bounce-subject.eml"), huge, mail_bytes("account-hold.eml"))
    items = list(read_sources(["-"], stdin=io.BytesIO(mbox), max_bytes=1024 * 1024))
    assert [(item.index, item.format, item.error is None) for item in items] == [
        (0, "mail", True),
        (1, "unknown", False),
        (2, "mail", True),
    ]
    endless = io.BytesIO(b"From x\n" + b"\0" * (5 * 1024 * 1024))
    (item,) = read_sources(["-"], stdin=endless, max_bytes=1024 * 1024)
    assert item.error and "nor the rest of the mbox" in item.error


def test_triage_under_a_memory_limit_stores_the_good_mails(tmp_path: Path) -> None:
    """A real process with its address space capped: /dev/zero is refused, not a MemoryError."""
    good1, good2 = tmp_path / "good1.eml", tmp_path / "good2.eml"
    good1.write_bytes(mail_bytes("compromised-subject.eml"))
    good2.write_bytes(mail_bytes("ses-bounce-subject.eml"))
    database = tmp_path / "n.db"
    limit = 1536 * 1024 * 1024

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [sys.executable, "-m", "noticedesk", "--db", f"sqlite:///{database}", "triage", "--json"]
    completed = subprocess.run(
        [*command, str(good1), str(good2), "/dev/zero"],
        capture_output=True,
        timeout=120,
        preexec_fn=cap_memory,
        env={key: value for key, value in os.environ.items() if key != "NOTICEDESK_CONFIG"},
    )
    assert completed.returncode == 1, completed.stderr
    assert b"Traceback" not in completed.stderr and b"MemoryError" not in completed.stderr
    assert completed.stderr.decode().startswith("error: /dev/zero: larger than the 50 MiB cap")
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [line["case_id"] is not None for line in lines] == [True, True, False]


def test_ses_ingest_stores_the_good_file_and_names_the_missing_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "n.db"), "ses", "ingest", str(FEEDBACK), "/nonexistent.jsonl"]
    )
    assert result.exit_code == 1
    assert result.stderr == "skipped /nonexistent.jsonl: cannot read: No such file or directory\n"
    assert "20 new" in result.stdout


def test_ses_ingest_reads_stdin(tmp_path: Path) -> None:
    database = tmp_path / "n.db"
    result = CliRunner().invoke(
        cli, ["--db", str(database), "ses", "ingest", "-"], input=FEEDBACK.read_bytes()
    )
    assert result.exit_code == 0, result.output
    assert "20 new" in result.stdout


def test_ses_ingest_of_an_endless_file_keeps_the_lines_before_it(tmp_path: Path) -> None:
    database = tmp_path / "n.db"
    result = CliRunner().invoke(cli, ["--db", str(database), "ses", "ingest", str(FEEDBACK), "/dev/zero"])
    assert result.exit_code == 1
    assert result.stderr == (
        "skipped /dev/zero: line 1: longer than 1024 KiB: not read, nor the rest of the file\n"
    )
    assert "20 new" in result.stdout
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        assert connection.execute(select(ses_feedback_messages)).first() is not None
    engine.dispose()


def _chain(depth: int, multipart: bool) -> bytes:
    message = mail_bytes("compromised-subject.eml")
    for level in range(depth):
        head = f"From: someone@example.com\nSubject: Fwd {level}\nMIME-Version: 1.0\n".encode()
        if multipart:
            boundary = f"b{level}".encode()
            message = (
                head + b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\n--' + boundary
                + b"\nContent-Type: message/rfc822\n\n" + message + b"\n--" + boundary + b"--\n"
            )  # fmt: skip
        else:
            message = head + b"Content-Type: message/rfc822\n\n" + message
    return message


@pytest.mark.parametrize("depth", [300, 1000])
@pytest.mark.parametrize("multipart", [False, True])
def test_a_deep_chain_of_attached_messages_is_one_line(
    depth: int, multipart: bool, tmp_path: Path, sqlite_engine: Engine, now: datetime
) -> None:
    path = tmp_path / "deep.eml"
    path.write_bytes(_chain(depth, multipart))
    result = _triage(sqlite_engine, now, str(path))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {path}: ") and "deep" in result.stderr


def test_a_forward_of_a_forward_is_still_read(tmp_path: Path, sqlite_engine: Engine, now: datetime) -> None:
    path = tmp_path / "fwd.eml"
    path.write_bytes(_chain(3, multipart=True))
    result = _triage(sqlite_engine, now, str(path))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["kind"] is not None


def test_an_unexpected_failure_on_an_input_is_one_line_without_verbose(tmp_path: Path) -> None:
    """A real process (its own logging): the bug is named in one line; the traceback only with -v."""
    path = tmp_path / "a.eml"
    path.write_bytes(mail_bytes("compromised-subject.eml"))
    program = (
        "import sys\n"
        "from noticedesk.triage import Triage\n"
        "def broken(self, item):\n"
        "    raise RecursionError('maximum recursion depth exceeded')\n"
        "Triage._understand = broken\n"
        "from noticedesk.cli import main\n"
        "sys.argv[0] = 'noticedesk'\n"
        "main()\n"
    )
    base = [sys.executable, "-c", program, "--db", f"sqlite:///{tmp_path / 'n.db'}"]
    quiet = subprocess.run([*base, "triage", str(path)], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 1
    assert quiet.stderr.count("\n") == 1 and "Traceback" not in quiet.stderr, quiet.stderr
    assert "internal error while reading it (RecursionError" in quiet.stderr
    verbose = subprocess.run([*base, "-v", "triage", str(path)], capture_output=True, text=True, timeout=120)
    assert "Traceback" in verbose.stderr
