from __future__ import annotations

import ast
import gc
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, inspect, select

import noticedesk.store
from noticedesk.feedback.events import FeedbackDocument, FeedbackEvent, parse_document, parse_line
from noticedesk.feedback.ingest import COUNTED_ONLY, EVENT_COLUMNS, counted_key, ingest, ingest_batches
from noticedesk.feedback.suppressions import find_suppression, list_suppressions
from noticedesk.feedback.verdicts import PolicySettings, decide, in_force
from noticedesk.store.db import alembic_config, migrate, open_store
from noticedesk.store.tables import (
    ses_event_keys,
    ses_events,
    ses_feedback_messages,
    ses_send_counts,
    ses_suppressions,
)
from tests.conftest import DATA

NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
SETTINGS = PolicySettings()


def decided(address: str, events: list[FeedbackEvent]) -> tuple[bool, datetime | None]:
    """Whether the policy suppresses the address, and until when (``in_force`` reads the two)."""
    verdict = decide(address, events, SETTINGS)
    return verdict.suppressed, verdict.expires_at


def fixture_documents() -> list[tuple[FeedbackDocument, str]]:
    lines = (DATA / "ses" / "feedback.jsonl").read_text().splitlines()
    return [(parse_line(line), f"feedback.jsonl:{index}") for index, line in enumerate(lines, 1)]


def snapshot(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as connection:
        counts = [
            connection.execute(select(func.count()).select_from(table)).scalar()
            for table in (ses_events, ses_feedback_messages, ses_suppressions)
        ]
        counters = connection.execute(select(ses_send_counts).order_by(ses_send_counts.c.id)).all()
        rows = connection.execute(select(ses_suppressions).order_by(ses_suppressions.c.address)).all()
    return (*counts, tuple(counters), tuple(rows))


def test_ingest_twice_changes_nothing(engine: Engine) -> None:
    first = ingest_batches(engine, fixture_documents(), SETTINGS, NOW)
    before = snapshot(engine)
    second = ingest_batches(engine, fixture_documents(), SETTINGS, NOW + timedelta(hours=1))
    assert first.new_events == 20 and second.new_events == 0
    assert second.duplicate_documents == 1  # the SNS envelope, by MessageId
    assert snapshot(engine) == before


def test_ingest_batches_thaws_only_what_it_froze(engine: Engine) -> None:
    seen: list[int] = []

    def watched() -> Iterator[tuple[FeedbackDocument, str]]:
        seen.append(gc.get_freeze_count())  # while the import runs
        yield from fixture_documents()

    ingest_batches(engine, watched(), SETTINGS, NOW)
    assert seen[0] > 0 and gc.get_freeze_count() == 0
    # A caller's own freeze (a server before it forks) is left as it was.
    gc.freeze()
    try:
        result = ingest_batches(engine, fixture_documents(), SETTINGS, NOW + timedelta(hours=1))
        assert gc.get_freeze_count() > 0 and result.new_events == 0  # not thawed
    finally:
        gc.unfreeze()


def test_suppression_rows_keep_history(engine: Engine) -> None:
    ingest_batches(engine, fixture_documents(), SETTINGS, NOW)
    with engine.connect() as connection:
        nobody = find_suppression(connection, "nobody@example.org")
        happy = find_suppression(connection, "happy@example.net")
        active = {item.address for item in list_suppressions(connection, NOW)}
        every = {item.address for item in list_suppressions(connection, NOW, include_inactive=True)}
    assert nobody is not None and nobody.active_at(NOW) and nobody.reason == "BOUNCE"
    assert nobody.reasons == ["Permanent/General"] and nobody.source_message_ids == ["m-1"]
    assert nobody.first_event_at == datetime(2026, 11, 28, 12, 0, 1, tzinfo=UTC)
    assert happy is not None and not happy.active_at(NOW) and happy.reasons == ["Complaint/not-spam"]
    assert "fine@example.org" not in every  # destination that did not bounce
    assert "strict@example.org" not in active  # content problem
    assert {"known@example.org", "angry@example.com", "a@example.org"} <= active


def test_same_sns_message_id_is_stored_once(engine: Engine) -> None:
    document = fixture_documents()[-1][0]
    with engine.begin() as connection:
        result = ingest(connection, [(document, "a"), (document, "b")], SETTINGS, NOW)
    assert result.duplicate_documents == 1 and result.new_events == 2


def test_send_counts_are_per_recipient_and_per_scope(engine: Engine) -> None:
    ingest_batches(engine, fixture_documents(), SETTINGS, NOW)
    with engine.connect() as connection:
        rows = connection.execute(select(ses_send_counts)).all()
    assert sum(row.sends for row in rows) == 2
    assert sum(row.hard_bounces for row in rows) == 4  # nobody, gone, a, known
    assert sum(row.complaints for row in rows) == 4
    assert {row.configuration_set for row in rows} == {"", "prod-marketing"}


ADDRESSES = ("a@example.org", "b@example.org", "c@example.org")
KINDS = [
    ("bounce", "Permanent", "General", None),
    ("bounce", "Permanent", "OnAccountSuppressionList", None),
    ("bounce", "Transient", "General", None),
    ("bounce", "Transient", "MailboxFull", None),
    ("bounce", "Transient", "ContentRejected", None),
    ("bounce", "Undetermined", "Undetermined", None),
    ("complaint", None, None, "abuse"),
    ("complaint", None, None, "not-spam"),
    ("delivery", None, None, None),
    ("delivery-delay", None, None, None),
]
T0 = datetime(2026, 10, 1, tzinfo=UTC)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[list[FeedbackEvent], list[int]]:
    count = draw(st.integers(0, 25))
    events = []
    for index in range(count):
        kind, bounce_type, sub, complaint = draw(st.sampled_from(KINDS))
        events.append(
            FeedbackEvent(
                event_type=kind,
                address=draw(st.sampled_from(ADDRESSES)),
                occurred_at=T0 + timedelta(hours=draw(st.integers(0, 24 * 40))),
                feedback_key=f"fb-{index}",
                bounce_type=bounce_type,
                bounce_sub_type=sub,
                complaint_type=complaint,
            )
        )
    stream = events + draw(st.lists(st.sampled_from(events), max_size=15)) if events else []
    stream = draw(st.permutations(stream))
    cuts = draw(st.lists(st.integers(1, 8), min_size=1, max_size=10))
    return stream, cuts


def test_suppression_set_equals_the_policy_over_any_shuffled_duplicated_stream() -> None:
    with tempfile.TemporaryDirectory() as directory:
        engine = open_store(f"sqlite:///{Path(directory) / 'p.db'}")
        try:
            _check_property(engine)
        finally:
            engine.dispose()


def _check_property(engine: Engine) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(event_streams(), st.integers(0, 24 * 80))
    def check(case: tuple[list[FeedbackEvent], list[int]], hours: int) -> None:
        stream, cuts = case
        with engine.begin() as connection:
            for table in (ses_events, ses_suppressions, ses_send_counts, ses_feedback_messages):
                connection.execute(delete(table))
        position, cut_index = 0, 0
        while position < len(stream):
            size = cuts[cut_index % len(cuts)]
            chunk = stream[position : position + size]
            with engine.begin() as connection:
                ingest(
                    connection, [(FeedbackDocument(None, None, (item,)), "p") for item in chunk], SETTINGS, T0
                )
            position += size
            cut_index += 1
        now = T0 + timedelta(hours=hours)
        expected = {
            address
            for address in ADDRESSES
            if in_force(*decided(address, [item for item in stream if item.address == address]), now)
        }
        with engine.connect() as connection:
            stored = {item.address for item in list_suppressions(connection, now)}
        assert stored == expected

    check()


def test_fast_sqlite_time_text_equals_what_the_column_type_writes(sqlite_engine: Engine) -> None:
    from noticedesk.store.types import UtcDateTime, sqlite_text

    dialect = sqlite_engine.dialect
    process = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    for value in (NOW, datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC), NOW.astimezone(timedelta_zone(9))):
        assert sqlite_text(value) == process(value)


def timedelta_zone(hours: int) -> object:
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_counted_only_events_keep_a_key_not_a_row(engine: Engine) -> None:
    ingest_batches(engine, fixture_documents(), SETTINGS, NOW)
    with engine.connect() as connection:
        stored_types = set(connection.execute(select(ses_events.c.event_type).distinct()).scalars())
        keys = connection.execute(select(func.count()).select_from(ses_event_keys)).scalar()
    parsed = [event for document, _ in fixture_documents() for event in document.events]
    assert stored_types == {event.event_type for event in parsed} - COUNTED_ONLY
    assert keys == sum(1 for event in parsed if event.event_type in COUNTED_ONLY) > 0


def test_counted_key_leads_with_the_hour_only_when_the_key_holds_the_time() -> None:
    digest = bytes(range(20))
    at = datetime(2026, 11, 28, 16, 59, 59, tzinfo=UTC)
    key = counted_key(digest, None, at)
    assert key[4:] == digest and int.from_bytes(key[:4], "big") == int(at.timestamp()) // 3600
    assert counted_key(digest, None, at + timedelta(seconds=1)) > key  # the next hour sorts after
    assert counted_key(digest, "fb-1", at) == bytes(4) + digest


def test_upgrade_from_0004_keeps_recognising_counted_events_stored_before(engine: Engine) -> None:
    """Sends and deliveries stored as rows by 0004 are not counted again once 0005 keeps keys."""
    from alembic import command

    from noticedesk.feedback.ingest import event_row

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004_ses_feedback")
    assert "ses_event_keys" not in inspect(engine).get_table_names()
    events = [event for document, _ in fixture_documents() for event in document.events]
    counted = [event for event in events if event.event_type in COUNTED_ONLY]
    with engine.begin() as connection:  # what 0004 wrote: one row per event, keyed by hex sha1
        connection.execute(
            ses_events.insert(),
            [
                dict(zip(EVENT_COLUMNS, event_row(event.dedupe_key, event, NOW), strict=True))
                for event in counted
            ],
        )
    migrate(engine)
    again = ingest_batches(engine, fixture_documents(), SETTINGS, NOW)
    assert again.new_events == len(events) - len(counted)
    with engine.connect() as connection:
        rows = connection.execute(select(ses_send_counts)).all()
    assert sum(row.sends + row.deliveries for row in rows) == 0  # all of them were seen before
    assert sum(row.hard_bounces for row in rows) == 4


def _complaint(address: str, message_id: str) -> dict[str, object]:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "feedbackId": f"fb-{message_id[:20]}",
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": "2026-11-28T13:10:00.000Z",
        },
        "mail": {
            "timestamp": "2026-11-28T12:00:00.000Z",
            "messageId": message_id,
            "source": "news@example.jp",
        },
    }


def test_a_document_the_store_refuses_costs_only_itself(engine: Engine) -> None:
    """One value no store takes (a lone surrogate, from a caller's own dict) in a batch of three."""
    documents = [
        (parse_document(_complaint("first@example.net", "m-1")), "a:1"),
        (parse_document(_complaint("odd@example.net", "m-\udcff")), "a:2"),
        (parse_document(_complaint("third@example.net", "m-3")), "a:3"),
    ]
    result = ingest_batches(engine, iter(documents), SETTINGS, NOW)
    assert [label for label, _reason in result.refused] == ["a:2"]
    assert "UnicodeEncodeError" in result.refused[0][1]
    assert result.new_events == 2
    with engine.connect() as connection:
        assert find_suppression(connection, "first@example.net") is not None
        assert find_suppression(connection, "third@example.net") is not None
        assert find_suppression(connection, "odd@example.net") is None


def test_nul_and_over_long_addresses_do_not_stop_an_import(engine: Engine) -> None:
    """PostgreSQL refuses NUL and values longer than a column: read as U+FFFD, and not an address."""
    lines = [
        json.dumps(_complaint("nul\u0000@example.net", "m-nul")),
        json.dumps(_complaint("x" * 400 + "@example.net", "m-long")),
        json.dumps(_complaint("fine@example.net", "m-fine")),
    ]
    documents = [(parse_line(line), f"b:{number}") for number, line in enumerate(lines, 1)]
    result = ingest_batches(engine, iter(documents), SETTINGS, NOW)
    assert result.refused == [] and result.new_events == 2
    with engine.connect() as connection:
        assert find_suppression(connection, "nul\ufffd@example.net") is not None
        assert find_suppression(connection, "fine@example.net") is not None


def test_no_migration_imports_the_feedback_code() -> None:
    """A migration keeps a frozen copy of what it computes: the live code may change under it."""
    folder = Path(noticedesk.store.__file__).parent / "migrations" / "versions"
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        assert not {name for name in imported if name.startswith("noticedesk.feedback")}, path.name
