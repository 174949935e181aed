"""`triage --jobs N`: inputs read in worker processes, filed by one; the same as `--jobs 1`."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from triage_helpers import HEALTH, MAILS, make_app, mbox_of

from noticedesk.cli import cli
from noticedesk.errors import NoticeDeskError
from noticedesk.procpool import OrderedPool
from noticedesk.store.db import make_engine
from noticedesk.store.tables import case_events, cases, checklist_items, messages
from noticedesk.triage import run as triage_module
from tests.families import families, mail_of

REAL = Path(__file__).parent / "data" / "real"


@pytest.fixture
def fixture_inputs(tmp_path: Path) -> list[str]:
    """Every fixture folder, the families' voices written out as mails, some of them again (the
    same bytes: duplicates) and an mbox holding some others again (other bytes, same Message-ID:
    further copies), the repeats in later batches than their first."""
    voices = tmp_path / "families"
    voices.mkdir()
    raws = []
    for family in families():
        for voice in family.voices:
            raw = mail_of(voice)
            raws.append(raw)
            (voices / f"{family.name}-{voice.name}.eml").write_bytes(raw)
    again = tmp_path / "again"
    again.mkdir()
    for path in sorted(voices.iterdir())[1::4]:
        shutil.copyfile(path, again / path.name)
    mbox = tmp_path / "again.mbox"
    mbox.write_bytes(mbox_of(*raws[::3], *(path.read_bytes() for path in sorted(MAILS.glob("*.eml"))[:5])))
    return [str(REAL), str(voices), str(MAILS), str(HEALTH), str(again), str(mbox)]


def _store(sqlite_template: Path, path: Path) -> Engine:
    shutil.copyfile(sqlite_template, path)
    return make_engine(f"sqlite:///{path}")


def _rows(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key))]
            for table in (cases, messages, case_events, checklist_items)
        }


def _triage(engine: Engine, now: datetime, inputs: list[str], jobs: int) -> tuple[list[str], str, int]:
    result = CliRunner().invoke(
        cli, ["triage", "--json", "--jobs", str(jobs), *inputs], obj=make_app(engine, now)
    )
    return result.stdout.splitlines(), result.stderr, result.exit_code


def test_jobs_2_gives_what_jobs_1_gives(
    fixture_inputs: list[str],
    sqlite_template: Path,
    tmp_path: Path,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same output lines in the same order, same exit code and warnings, same rows in the store;
    batches of 40 so that several are in flight at once and duplicates cross batches."""
    monkeypatch.setattr(triage_module, "BATCH_SIZE", 40)
    pools: list[int] = []

    class CountedPool(OrderedPool[Any, Any]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(args[1])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(triage_module, "OrderedPool", CountedPool)
    one, two = _store(sqlite_template, tmp_path / "one.db"), _store(sqlite_template, tmp_path / "two.db")
    serial = _triage(one, now, fixture_inputs, 1)
    parallel = _triage(two, now, fixture_inputs, 2)
    assert pools == [2]  # the second run read in two processes, the first in none
    assert len(serial[0]) > 150
    assert parallel == serial
    assert _rows(two) == _rows(one)
    assert sum(json.loads(line)["duplicate"] for line in serial[0]) > 10
    # Run again on the same stores: everything is known, in both.
    assert _triage(two, now, fixture_inputs, 2)[0] == _triage(one, now, fixture_inputs, 1)[0]
    assert _rows(two) == _rows(one)


def test_a_few_inputs_are_read_in_this_process(
    sqlite_engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fewer inputs than SERIAL_BELOW: no processes are started for them."""

    def no_pool(*_: Any, **__: Any) -> Any:
        raise AssertionError("a pool was started for three mails")

    monkeypatch.setattr(triage_module, "OrderedPool", no_pool)
    paths = [str(path) for path in sorted(MAILS.glob("*.eml"))[:3]]
    lines, _, code = _triage(sqlite_engine, now, paths, 4)
    assert code == 0 and len(lines) == 3


_both_working: Any = None  # a Barrier(2), set before the pool forks: each worker's first item waits at it
_waited = False


def _whose(item: int) -> tuple[int, int]:
    global _waited
    if not _waited:  # under load one worker could take every chunk: make both take one first
        _waited = True
        _both_working.wait(timeout=60)
    return item, os.getpid()


def test_the_pool_reads_in_other_processes_and_keeps_the_order() -> None:
    global _both_working
    _both_working = multiprocessing.get_context("fork").Barrier(2)
    batches = [list(range(start, start + 60)) for start in range(0, 600, 60)]
    with OrderedPool(_whose, 2) as pool:
        out = list(pool.map(iter(batches)))
    assert [batch for batch, _ in out] == batches
    results = [result for _, batch_results in out for result in batch_results]
    assert [item for item, _ in results] == list(range(600))
    workers = {pid for _, pid in results}
    assert os.getpid() not in workers and len(workers) == 2


def _dies(item: int) -> int:
    if item == 7:
        os._exit(9)  # a worker killed mid-run (SIGKILL, out of memory)
    return item


def test_a_worker_that_dies_is_a_clear_error_not_a_hang() -> None:
    with OrderedPool(_dies, 2) as pool, pytest.raises(NoticeDeskError, match="worker process stopped"):
        list(pool.map(iter([list(range(10))])))
