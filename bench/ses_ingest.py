"""Benchmark: mixed SES feedback (JSON lines) from a file into SQLite through the real ingest path.

    .venv/bin/python bench/ses_ingest.py [--count 1000000]

Prints events/s, the ratio to a bare ``executemany`` upsert of the same rows measured in the same
run (the floor any ingest path pays), and the per-event cost of the first and the last 100,000.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from noticedesk.feedback.events import parse_line
from noticedesk.feedback.files import read_documents
from noticedesk.feedback.policy import PolicySettings
from noticedesk.feedback.store import _event_row, ingest_batches
from noticedesk.store.db import open_store

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

        engine = open_store(f"sqlite:///{base / 'ingest.db'}")
        now = datetime(2026, 11, 28, tzinfo=UTC)
        bad: list[str] = []
        documents = read_documents([source], bad)
        segment_seconds: list[float] = []
        events = 0
        cpu_started = time.process_time()
        started = time.perf_counter()
        while True:
            segment = list(islice(documents, arguments.segment))
            if not segment:
                break
            begin = time.perf_counter()
            result = ingest_batches(engine, segment, PolicySettings(), now)
            segment_seconds.append(time.perf_counter() - begin)
            events += result.events
        total = time.perf_counter() - started
        cpu_total = time.process_time() - cpu_started
        engine.dispose()

        # The floor: the same rows, already built, into the same table with one executemany upsert.
        floor_engine = open_store(f"sqlite:///{base / 'floor.db'}")
        floor_engine.dispose()
        rows = []
        with source.open("rb") as handle:
            for line in handle:
                for event in parse_line(line).events:
                    row = _event_row(event.dedupe_key, event, now)
                    row["occurred_at"] = row["occurred_at"].isoformat()
                    row["received_at"] = now.isoformat()
                    rows.append(row)
        columns = list(rows[0])
        statement = (
            f"INSERT INTO ses_events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            "ON CONFLICT(dedupe_key) DO NOTHING"
        )
        values = [tuple(row[name] for name in columns) for row in rows]
        connection = sqlite3.connect(base / "floor.db")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        begin = time.perf_counter()
        cpu_begin = time.process_time()
        for start in range(0, len(values), 5_000):
            connection.executemany(statement, values[start : start + 5_000])
            connection.commit()
        floor = time.perf_counter() - begin
        cpu_floor = time.process_time() - cpu_begin
        connection.close()

    rate = events / total
    print(f"ingest: {events:,} events in {total:.1f} s = {rate:,.0f} events/s ({len(bad)} bad lines)")
    print(f"bare executemany upsert of the same rows: {len(values) / floor:,.0f} rows/s ({floor:.1f} s)")
    print(f"ratio ingest time / bare upsert time: {total / floor:.1f}x")
    print(
        f"CPU time (less sensitive to other load): ingest {events / cpu_total:,.0f} events/CPU-s, "
        f"bare upsert {len(values) / cpu_floor:,.0f} rows/CPU-s, ratio {cpu_total / cpu_floor:.1f}x"
    )
    size = arguments.segment
    first, last = segment_seconds[0], segment_seconds[-1]
    print(f"per event, first {size:,}: {first / size * 1e6:.1f} µs; last segment: {last / size * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
