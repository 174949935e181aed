"""`noticedesk triage` end to end: bad input is named, kept and skipped; the exit code says so."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import Engine, func, select
from triage_helpers import HEALTH, MAILS, mail_bytes, make_app, mbox_of

from noticedesk.cli import cli
from noticedesk.config import Config, InputConfig
from noticedesk.store.tables import cases, messages

CONTRACT_FIELDS = {
    "source",
    "kind",
    "stage",
    "authenticity",
    "account_id",
    "case_ref",
    "abuse_types",
    "access_key_ids",
    "iam_users",
    "instance_ids",
    "ip_addresses",
    "regions",
    "bounce_rate",
    "complaint_rate",
    "reply_by",
    "case_id",
}


def _bad_inputs(folder: Path) -> dict[str, Path]:
    files = {
        "text": (folder / "notes.txt", b"just some notes\nnothing here is a mail\n"),
        "truncated": (
            folder / "truncated.eml",
            b"From: AWS <no-reply-aws@amazon.com>\nSubject: Notice\nMIME-Version: 1.0\n"
            b'Content-Type: multipart/mixed; boundary="cut"\n\n--cut\nContent-Type: text/plain\n\n'
            b"Your AWS Account 111122223333 is compromised\n--cut\nContent-Type: image/png\n"
            b"Content-Transfer-Encoding: base64\n\niVBORw0KGgoAAAANSUhEUgAA",
        ),
        "binary": (folder / "photo.bin", bytes(range(256)) * 64),
        "empty file": (folder / "empty.eml", b""),
        "empty mbox": (folder / "empty.mbox", b"From MAILER-DAEMON Fri Nov 27 03:00:00 2026\n"),
        "wrong health": (folder / "wrong-shape.json", (HEALTH / "wrong-shape.json").read_bytes()),
    }
    for path, raw in files.values():
        path.write_bytes(raw)
    return {name: path for name, (path, _raw) in files.items()}


def test_bad_inputs_are_named_kept_and_the_batch_goes_on(
    tmp_path: Path, engine: Engine, now: datetime
) -> None:
    bad = _bad_inputs(tmp_path)
    mixed = tmp_path / "mixed.mbox"
    mixed.write_bytes(
        mbox_of(mail_bytes("abuse-subject-portscan.eml"), b"garbage line\n", mail_bytes("account-hold.eml"))
    )
    missing = tmp_path / "nowhere.eml"
    args = ["triage", "--json", *map(str, bad.values()), str(mixed), str(missing)]
    result = CliRunner().invoke(cli, args, obj=make_app(engine, now))

    assert result.exit_code == 1
    assert "Traceback" not in result.output + result.stderr
    errors = result.stderr.splitlines()
    assert len(errors) == len(bad) + 2  # one line each: the six files, mbox message 1, the missing path
    for path in bad.values():
        assert any(line.startswith(f"error: {path}: ") for line in errors), path
    assert f"error: {mixed} [message 1]: no From, Subject, Date or Message-ID header" in result.stderr
    assert f"error: {missing}: no such file or folder" in result.stderr
    assert f"error: {bad['truncated']}: truncated MIME" in result.stderr
    assert f"error: {bad['binary']}: binary data" in result.stderr
    assert f"error: {bad['empty mbox']}: empty mbox" in result.stderr
    assert f"error: {bad['wrong health']}: not an AWS Health event" in result.stderr

    lines = [json.loads(line) for line in result.stdout.splitlines()]
    filed = [line for line in lines if line["case_id"] is not None]
    assert [line["kind"] for line in filed] == ["abuse-report", "account-hold"]
    assert all(set(line) >= CONTRACT_FIELDS for line in lines)
    with engine.connect() as connection:
        rows = connection.execute(select(messages.c.source, messages.c.raw, messages.c.error)).all()
        assert connection.execute(select(func.count()).select_from(cases)).scalar_one() == 2
    failed = {row.source: row for row in rows if row.error}
    assert len(failed) == len(bad) + 2  # every bad input has its row, even those with the same bytes
    assert failed[str(missing)].raw == b""
    assert failed[str(bad["empty mbox"])].raw == bad["empty mbox"].read_bytes()
    assert failed[str(bad["text"])].raw == bad["text"].read_bytes()
    assert failed[str(bad["binary"])].raw == bad["binary"].read_bytes()
    assert failed[str(mixed)].raw.strip() == b"garbage line"


def test_exit_code_is_zero_when_everything_was_read(
    tmp_path: Path, sqlite_engine: Engine, now: datetime
) -> None:
    paths = [str(MAILS / "compromised-subject.eml"), str(HEALTH / "events.jsonl")]
    result = CliRunner().invoke(cli, ["triage", *paths], obj=make_app(sqlite_engine, now))
    assert (result.exit_code, result.stderr) == (0, "")
    assert "3 message(s) triaged" in result.stdout


def test_unknown_charset_is_a_warning_and_the_notice_is_filed(
    tmp_path: Path, sqlite_engine: Engine, now: datetime
) -> None:
    path = tmp_path / "klingon.eml"
    path.write_bytes(mail_bytes("account-hold.eml").replace(b"charset=UTF-8", b"charset=x-klingon"))
    result = CliRunner().invoke(cli, ["triage", "--json", str(path)], obj=make_app(sqlite_engine, now))
    assert result.exit_code == 0
    assert result.stderr == f"warning: {path}: unknown charset 'x-klingon'; decoded as utf-8\n"
    assert json.loads(result.stdout)["kind"] == "account-hold"


def test_a_50_mb_attachment_is_stored_and_the_notice_filed(
    tmp_path: Path, sqlite_engine: Engine, now: datetime
) -> None:
    notice = mail_bytes("compromised-subject.eml")
    head, _, body = notice.partition(b"\n\n")
    head = head.replace(
        b"Content-Type: text/plain; charset=UTF-8", b'Content-Type: multipart/mixed; boundary="b"'
    )
    attachment = base64.encodebytes(os.urandom(1024 * 1024)) * 50  # 50 MB, quick to make
    raw = (
        head
        + b"\nMIME-Version: 1.0\n\n--b\nContent-Type: text/plain; charset=UTF-8\n\n"
        + body
        + b"\n--b\nContent-Type: application/zip\nContent-Disposition: attachment; filename=logs.zip\n"
        + b"Content-Transfer-Encoding: base64\n\n"
        + attachment
        + b"--b--\n"
    )
    path = tmp_path / "with-logs.eml"
    path.write_bytes(raw)
    del raw, attachment
    app = make_app(sqlite_engine, now)
    app.config = Config(input=InputConfig(max_message_mib=100))  # over the default cap of 50 MiB
    started = time.perf_counter()
    result = CliRunner().invoke(cli, ["triage", "--json", str(path)], obj=app)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.stderr
    assert (
        result.stderr
        == f"warning: {path}: message is 68 MB: only its first 8 MB were read (all of it is stored)\n"
    )
    line = json.loads(result.stdout)
    assert (line["kind"], line["access_key_ids"]) == ("account-compromised", ["AKIA2E0A8F3B244C9986"])
    assert elapsed < 30  # generous for shared machines; parsing it whole took 10 s here
    with sqlite_engine.connect() as connection:
        size = connection.execute(select(func.length(messages.c.raw))).scalar_one()
    assert size == path.stat().st_size


def test_stdin_through_the_cli(sqlite_engine: Engine, now: datetime) -> None:
    result = CliRunner().invoke(
        cli,
        ["triage", "--json", "-"],
        input=mail_bytes("ses-bounce-subject.eml"),
        obj=make_app(sqlite_engine, now),
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["source"] == "<stdin>"


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[clocks.abuse-report]\nreply_by_hours = 'soon'\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "triage", "x.eml"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {config}: clocks.abuse-report.reply_by_hours")
    assert len(result.stderr.splitlines()) == 1


def test_real_process_python_m_noticedesk(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"not a mail\n")
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "noticedesk",
            "--db",
            f"sqlite:///{tmp_path / 'desk.db'}",
            "triage",
            "--json",
            str(MAILS / "abuse-subject-portscan.eml"),
            str(notes),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 1
    assert (
        process.stderr
        == f"error: {notes}: no From, Subject, Date or Message-ID header: not an RFC 5322 message\n"
    )
    kinds = [json.loads(line)["kind"] for line in process.stdout.splitlines()]
    assert kinds == ["abuse-report", None]


def test_json_reply_by_is_the_deadline_that_applies(sqlite_engine: Engine, now: datetime) -> None:
    """A stated date wins; without one, the kind's clock (here "within 24 hours" of the Date)."""
    paths = [str(MAILS / "compromised-subject.eml"), str(MAILS / "abuse-subject-portscan.eml")]
    result = CliRunner().invoke(cli, ["triage", "--json", *paths], obj=make_app(sqlite_engine, now))
    stated, abuse = (json.loads(line) for line in result.stdout.splitlines())
    assert stated["reply_by"].startswith("2026-12-02") and stated["reply_by_stated"].startswith("2026-12-02")
    assert abuse["reply_by_stated"] is None
    assert abuse["reply_by"] == "2026-11-28T03:00:00+00:00"
    assert abuse["enforcement_at"] == "2026-11-28T03:00:00+00:00"  # AWS may act 24 h after the notice
    wide = make_app(sqlite_engine, now)
    wide.console = Console(width=200)
    table = CliRunner().invoke(cli, ["triage", *paths], obj=wide)
    assert "2026-11-28 03:00" in table.stdout and "reply by (UTC)" in table.stdout  # a duplicate too


def test_a_store_that_fails_mid_run_is_one_line_and_exit_2(tmp_path: Path) -> None:
    database = tmp_path / "read-only.db"
    path = tmp_path / "notice.eml"
    path.write_bytes(mail_bytes("abuse-subject-portscan.eml"))
    environment = {**os.environ, "NOTICEDESK_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "noticedesk"]
    # Migrated first (writable), then opened read-only: triage can read but not write.
    subprocess.run([*command, "--db", f"sqlite:///{database}", "cases"], check=True, env=environment)
    done = subprocess.run(
        [*command, "--db", f"sqlite:///file:{database}?mode=ro&uri=true", "triage", str(path)],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: the store failed: OperationalError: attempt to write a readonly database"
    ]
    assert "Traceback" not in done.stderr
