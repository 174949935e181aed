"""Benchmark: mixed SES feedback (JSON lines) from a file into SQLite through the real ingest path.

    .venv/bin/python bench/ses_ingest.py [--count 1000000]

Prints events/s (wall and CPU time), the ratio to a bare ``executemany`` upsert of one row per
event into the events table measured in the same run (what storing every event costs at the
least), the share of parsing alone, the rows the store ends with, and the per-event cost of
the first and the last 100,000.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from noticedesk.feedback.events import FeedbackDocument, parse_line
from noticedesk.feedback.files import read_documents
from noticedesk.feedback.ingest import COUNTED_ONLY, EVENT_COLUMNS, counted_key, event_row, ingest_batches
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.store.db import open_store
from noticedesk.store.types import sqlite_text

MIX = [
    ("send", 45),
    ("delivery", 33),
    ("Permanent/General", 5),
    ("Permanent/NoEmail", 2),
    ("Transient/General", 4),
    ("Transient/MailboxFull", 2),
    ("Undetermined/Undetermined", 1),
    ("Transient/ContentRejected", 1),
    ("complaint", 3),
    ("not-spam", 1),
    ("delay", 3),
]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def generate(path: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    used: list[str] = []
    with path.open("w") as out:
        for index in range(count):
            if used and rng.random() < 0.3:
                address = rng.choice(used)
            else:
                address = f"user{index}@example{index % 97}.org"
                used.append(address)
            at = (T0 + timedelta(seconds=index * 2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            mail = {
                "messageId": f"m-{index}",
                "timestamp": at,
                "source": "news@mail.example.jp",
                "sourceArn": "arn:aws:ses:us-east-1:111122223333:identity/mail.example.jp",
                "sendingAccountId": "111122223333",
                "destination": [address],
                "tags": {"ses:configuration-set": [f"set-{index % 3}"]},
            }
            kind = rng.choice(kinds)
            document: dict[str, object]
            if kind == "send":
                document = {"eventType": "Send", "send": {}, "mail": mail}
            elif kind == "delivery":
                delivery = {"timestamp": at, "recipients": [address], "smtpResponse": "250 OK"}
                document = {"eventType": "Delivery", "delivery": delivery, "mail": mail}
            elif kind in ("complaint", "not-spam"):
                complaint = {
                    "feedbackId": f"fb-{index}",
                    "complainedRecipients": [{"emailAddress": address}],
                    "timestamp": at,
                    "complaintFeedbackType": "abuse" if kind == "complaint" else "not-spam",
                }
                document = {"notificationType": "Complaint", "complaint": complaint, "mail": mail}
            elif kind == "delay":
                delay = {
                    "timestamp": at,
                    "delayType": "MailboxFull",
                    "delayedRecipients": [{"emailAddress": address}],
                }
                document = {"eventType": "DeliveryDelay", "deliveryDelay": delay, "mail": mail}
            else:
                bounce_type, sub = kind.split("/")
                bounce = {
                    "feedbackId": f"fb-{index}",
                    "bounceType": bounce_type,
                    "bounceSubType": sub,
                    "bouncedRecipients": [{"emailAddress": address, "diagnosticCode": "smtp; 550"}],
                    "timestamp": at,
                }
                document = {"notificationType": "Bounce", "bounce": bounce, "mail": mail}
            out.write(json.dumps(document) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--segment", type=int, default=100_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        source = base / "feedback.jsonl"
        started = time.perf_counter()
        generate(source, arguments.count)
        print(f"generated {arguments.count:,} lines in {time.perf_counter() - started:.1f} s")

        # Parsing alone (no store), to tell how the ingest time splits.
        cpu_begin = time.process_time()
        parsed = sum(len(document.events) for document, _ in read_documents([source], []))
        cpu_parse = time.process_time() - cpu_begin

        # The real path, as `noticedesk ses ingest` runs it (read_documents → ingest_batches).
        engine = open_store(f"sqlite:///{base / 'ingest.db'}")
        now = datetime(2026, 11, 28, tzinfo=UTC)
        bad: list[str] = []
        checkpoints: list[tuple[float, float]] = []  # (wall, CPU) at every segment boundary

        def timed(
            documents: Iterable[tuple[FeedbackDocument, str]],
        ) -> Iterator[tuple[FeedbackDocument, str]]:
            # Streams like the CLI (no segment is held in memory); notes the clocks every segment.
            for index, item in enumerate(documents):
                if index % arguments.segment == 0:
                    checkpoints.append((time.perf_counter(), time.process_time()))
                yield item
            checkpoints.append((time.perf_counter(), time.process_time()))

        cpu_started = time.process_time()
        started = time.perf_counter()
        result = ingest_batches(engine, timed(read_documents([source], bad)), PolicySettings(), now)
        total = time.perf_counter() - started
        cpu_total = time.process_time() - cpu_started
        events = result.events
        with engine.connect() as connection:
            written = {
                table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
                for table in ("ses_events", "ses_event_keys", "ses_send_counts", "ses_suppressions")
            }
        engine.dispose()

        # The floor: one row per event, already built, into the events table (same schema and
        # PRAGMAs as the store) with one bare executemany upsert per 5,000 rows.
        rows: list[tuple[object, ...]] = []
        lean: list[tuple[str, tuple[object, ...]]] = []  # ("key" | "row", values): what this path writes
        with source.open("rb") as handle:
            for line in handle:
                for event in parse_line(line).events:
                    row = list(event_row(event.dedupe_key, event, now))
                    row[EVENT_COLUMNS.index("occurred_at")] = sqlite_text(event.occurred_at)
                    row[EVENT_COLUMNS.index("received_at")] = sqlite_text(now)
                    rows.append(tuple(row))
                    if event.event_type in COUNTED_ONLY:
                        key = counted_key(event.dedupe_digest, event.feedback_id, event.occurred_at)
                        lean.append(("key", (key,)))
                    else:
                        lean.append(("row", tuple(row)))
        upsert_row = (
            f"INSERT INTO ses_events ({', '.join(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))}) ON CONFLICT(dedupe_key) DO NOTHING"
        )
        upsert_key = "INSERT INTO ses_event_keys (event_key) VALUES (?) ON CONFLICT(event_key) DO NOTHING"

        # The floor: one row per event, already built, into the events table (same schema and
        # PRAGMAs as the store) with one bare executemany upsert per 5,000 rows.
        def bare(name: str, chunks: Iterator[list[tuple[str, tuple[object, ...]]]]) -> tuple[float, float]:
            open_store(f"sqlite:///{base / name}").dispose()
            connection = sqlite3.connect(base / name)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
                connection.execute(f"PRAGMA {pragma}")
            begin, cpu_begin = time.perf_counter(), time.process_time()
            for chunk in chunks:
                connection.executemany(upsert_key, [values for kind, values in chunk if kind == "key"])
                connection.executemany(upsert_row, [values for kind, values in chunk if kind == "row"])
                connection.commit()
            elapsed = (time.perf_counter() - begin, time.process_time() - cpu_begin)
            connection.close()
            return elapsed

        floor, cpu_floor = bare(
            "floor.db",
            ([("row", row) for row in rows[start : start + 5_000]] for start in range(0, len(rows), 5_000)),
        )
        # A second floor: the same bare statements for exactly what this path writes (a key per
        # counted-only event, a row per other event): what is left is the path's own work.
        lean_floor, cpu_lean_floor = bare(
            "lean.db", (lean[start : start + 5_000] for start in range(0, len(lean), 5_000))
        )

    rate = events / total
    print(f"ingest: {events:,} events in {total:.1f} s = {rate:,.0f} events/s ({len(bad)} bad lines)")
    print(f"bare executemany upsert of the same rows: {len(rows) / floor:,.0f} rows/s ({floor:.1f} s)")
    print(f"ratio ingest time / bare upsert time: {total / floor:.2f}x")
    print(
        f"CPU time (less sensitive to other load): ingest {events / cpu_total:,.0f} events/CPU-s, "
        f"bare upsert {len(rows) / cpu_floor:,.0f} rows/CPU-s, ratio {cpu_total / cpu_floor:.2f}x"
    )
    print(
        f"bare executemany of what this path writes (keys + rows): {len(lean) / lean_floor:,.0f} events/s, "
        f"{len(lean) / cpu_lean_floor:,.0f} events/CPU-s; ratio ingest / it: {total / lean_floor:.2f}x wall, "
        f"{cpu_total / cpu_lean_floor:.2f}x CPU"
    )
    print(
        f"of which parsing alone: {parsed / cpu_parse:,.0f} events/CPU-s "
        f"({cpu_parse / cpu_total:.0%} of the ingest CPU time)"
    )
    print("rows in the store: " + ", ".join(f"{table} {count:,}" for table, count in written.items()))
    size = arguments.segment
    per_segment = [
        (cpu_end - cpu_begin) / min(size, arguments.count - index * size) * 1e6
        for index, ((_, cpu_begin), (_, cpu_end)) in enumerate(pairwise(checkpoints))
    ]
    print("CPU µs per event, segment by segment: " + " ".join(f"{value:.1f}" for value in per_segment))
    # A segment's clocks run from its first document read to the next segment's first: batches
    # commit every 5,000 documents, so each segment is timed with the same offset.
    for label, index in (("first", 0), ("last", len(checkpoints) - 2)):
        (wall_begin, cpu_begin), (wall_end, cpu_end) = checkpoints[index], checkpoints[index + 1]
        count = min(size, arguments.count - index * size)
        print(
            f"per event, {label} {count:,}: {(wall_end - wall_begin) / count * 1e6:.1f} µs wall, "
            f"{(cpu_end - cpu_begin) / count * 1e6:.1f} µs CPU"
        )


if __name__ == "__main__":
    main()
