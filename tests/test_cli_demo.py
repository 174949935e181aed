"""``noticedesk demo``: the whole job on the embedded default, end to end, against fake AWS."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import Engine, select

from noticedesk.cli import App, cli
from noticedesk.config import Config
from noticedesk.store.db import open_store
from noticedesk.store.tables import actions, cases, findings


def _run(tmp_path: Path, now: datetime, *args: str) -> tuple[str, Engine]:
    """Run the demo in ``tmp_path``; return its output and its (demo) database."""
    app = App(
        db_url=f"sqlite:///{tmp_path / 'noticedesk.db'}",
        config=Config(),
        now=lambda: now,
        console=Console(width=80, force_terminal=False),
    )
    result = CliRunner().invoke(cli, ["demo", *args], obj=app, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output, open_store(f"sqlite:///{tmp_path / 'noticedesk-demo.db'}")


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the demo writes noticedesk-demo.db in the current folder


def test_demo_triages_diagnoses_fixes_and_drafts(tmp_path: Path, now: datetime) -> None:
    output, engine = _run(tmp_path, now)
    assert "11 sample notices read" in output and "9 filed as cases" in output
    assert "FAKE AWS account" in output and "no real AWS account is touched" in output
    assert "Subject: RE: Your AWS account 111122223333 is compromised" in output
    assert "■ 実施した対応" in output  # the Japanese summary, with what was done
    with engine.connect() as connection:
        applied = set(
            connection.execute(select(actions.c.action).where(actions.c.status == "applied")).scalars()
        )
        failed_checks = (
            connection.execute(select(findings.c.check).where(findings.c.status == "fail")).scalars().all()
        )
    assert {"ami-make-private", "ebs-snapshot-make-private", "instance-stop"} <= applied
    assert "public-amis" in failed_checks
    # The key the sample notice names is the fake account's leaked key: found, then deactivated.
    assert "key-owner" in failed_checks and "access-key-deactivate" in applied
    # Keys are masked in everything shown, except in the reply to AWS, which names the key AWS named.
    reply = output.split("3. The reply to AWS")[1].split("4. The owner's summary")[0]
    body = reply.split("the reply starts below this line")[1]
    assert "AKIA4DEMOLEAKEDKEY01" not in output.replace(body, "")
    assert "Deactivated the exposed access key AKIA4DEMOLEAKEDKEY01" in body
    # The summary is printed to be copied: no line break put into one of its sentences.
    assert "対象はアクセスキー AKIA…EY01（IAM ユーザー ci-deployer）です。" in output


def test_demo_twice_gives_a_clean_second_reply_and_leaves_the_real_store_alone(
    tmp_path: Path, now: datetime
) -> None:
    _run(tmp_path, now)
    second, engine = _run(tmp_path, now)
    assert "fresh demo database, noticedesk-demo.db" in second
    with engine.connect() as connection:
        assert len(connection.execute(select(cases.c.id)).all()) == 7  # not 14, not one case of two runs
        images = connection.execute(
            select(actions.c.resource_id).where(actions.c.action == "ami-make-private")
        ).all()
    assert len(images) == 1  # one fake account's public image, made private once
    reply = second.split("3. The reply to AWS")[1].split("4. The owner's summary")[0]
    assert reply.count("Made the image ami-") == 2  # timeline and corrective action, one image
    assert not (tmp_path / "noticedesk.db").exists()  # --db (the real cases) is never opened


def test_demo_without_aws_still_drafts_the_reply_and_runs_twice(tmp_path: Path, now: datetime) -> None:
    first, _ = _run(tmp_path, now, "--no-aws", "--lang", "en")
    second, _ = _run(tmp_path, now, "--no-aws", "--lang", "en")
    for output in (first, second):
        assert "FAKE AWS" not in output
        assert "The reply to AWS for case 1" in output and "owner's summary of case 1 (en)" in output
    assert "9 filed as cases" in second  # the same samples again: the same cases, nothing new
