#!/usr/bin/env python3
"""Throughput of triage against bare MIME parsing, and memory over a long mbox.

    .venv/bin/python bench/triage.py              # 50,000 notices (~5 KB each, every kind)
    .venv/bin/python bench/triage.py --count 5000 --profile

Writes an mbox of generated notices to a temporary folder, then measures on one core:
(b) the full triage (``Triage(...).run(read_sources([mbox]))``) into a fresh SQLite file, with
peak RSS after 10,000 messages and at the end, and (a) bare ``email.parser.BytesParser()``
(compat32) parsing of each message of the same file, split the same way. Prints messages/s for
both and their ratio (target: >= 0.5).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import pstats
import quopri
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.parser import BytesParser
from pathlib import Path

from noticedesk.mail.readers import read_sources, split_mbox
from noticedesk.store.db import open_store
from noticedesk.triage import Triage

START = datetime(2026, 1, 1, tzinfo=UTC)
FILLER = (
    "This message was sent to the contacts of the account named above. Please read it in full: it "
    "describes what was observed, what you are asked to do, and what happens if nothing is done. "
    "If you have already acted on this, reply with a short description of the steps you took so "
    "that the record can be updated. Keep this message for your records.\n"
)
REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1", "ap-southeast-2", "sa-east-1")
SES_REGIONS = ("US East (N. Virginia)", "Europe (Ireland)", "Asia Pacific (Tokyo)", "US West (Oregon)")
ABUSE = (
    "port scanning of remote hosts",
    "sending unsolicited bulk email (spam)",
    "a denial of service flood",
    "SSH brute-force login attempts",
    "an open proxy used by third parties",
    "a phishing page imitating a bank",
    "malware distribution",
)


def _log_lines(rng: random.Random, count: int) -> str:
    return "".join(
        f"2026-03-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00 UTC "
        f"src 54.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        f":{rng.randint(1024, 65535)} "
        f"dst 203.0.113.{rng.randint(1, 254)}:{rng.choice((22, 25, 80, 443, 3389))} TCP\n"
        for _ in range(count)
    )


def _notice(rng: random.Random, number: int) -> tuple[str, str, str, str]:
    """(sender, subject, body, language) of one realistic notice."""
    account = f"{rng.randint(10**11, 10**12 - 1)}"
    ref = f"{rng.randint(10**10, 10**11 - 1)}-1"
    instance = f"i-{rng.getrandbits(68):017x}"[:19]
    region = rng.choice(REGIONS)
    pick = rng.random()
    if pick < 0.40:
        stage = rng.choice(("", "", "We have not yet received a response to our earlier message.\n", "FINAL"))
        subject = f"Your Amazon EC2 Abuse Report [{ref}] [AWS ID {account}]"
        if stage == "FINAL":
            subject, stage = (
                f"FINAL NOTIFICATION: {subject}",
                "We have restricted the implicated resources.\n",
            )
        body = (
            f"Hello,\n\nWe have received a report that your AWS resource(s)\n\nInstance Id: {instance}\n"
            f"Public IP: 54.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}\n"
            f"Region: {region}\n\nReported activity: {rng.choice(ABUSE)}\n"
            f"Abuse Time: 2026-03-{rng.randint(1, 28):02d} 02:15:00 UTC\n\n{stage}"
            f"Please reply within 24 hours.\n\n{FILLER * 3}\nLog extract:\n{_log_lines(rng, 22)}"
        )
        return "AWS Abuse <ec2-abuse@amazon.com>", subject, body, "en"
    if pick < 0.55:
        key = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        body = (
            f"Hello,\n\nWe opened support case {rng.randint(10**9, 10**10)} for AWS Account {account} "
            "because "
            f"the access key {key} belonging to IAM user deploy-{number % 97} was found publicly available "
            f"online at https://github.com/example-{number % 13}/tools/blob/main/settings.yml .\n\n"
            "We have applied the AWSCompromisedKeyQuarantineV3 policy to the user and temporarily limited "
            "your ability to create some resources.\n\n"
            f"Please contact AWS by 2026-04-{rng.randint(1, 28):02d}.\n\n"
            f"{FILLER * 9}"
        )
        return (
            "Amazon Web Services <no-reply-aws@amazon.com>",
            f"Your AWS Account {account} is Compromised",
            body,
            "en",
        )
    if pick < 0.80:
        what = rng.choice(("Bounce", "Complaint", "Vulnerable Site"))
        rate = f"The {what.lower()} rate is {rng.uniform(5, 20):.2f}%.\n" if what != "Vulnerable Site" else ""
        body = (
            f"Hello,\n\nAmazon SES sending for AWS account {account} in {rng.choice(SES_REGIONS)} needs "
            f"attention.\n{rate}\n{FILLER * 10}"
        )
        subject = f"Amazon SES {what} Review Period for AWS Account {account}"
        return "Amazon Web Services <no-reply-aws@amazon.com>", subject, body, "en"
    if pick < 0.85:
        body = f"お客様\n\nAWS アカウント ID: {account} は追加の確認が必要なため保留されています。\n" + (
            "本人確認の書類をお送りください。期日までにご対応がない場合、アカウントは停止されます。\n" * 14
        )
        return (
            "Amazon Web Services <no-reply-aws@amazon.com>",
            "【重要】AWS アカウントの保留について",
            body,
            "ja",
        )
    if pick < 0.95:
        body = (
            f"Hello,\n\nInstance {instance} in {region} runs on hardware that will be retired on "
            f"2026-05-{rng.randint(1, 28):02d}. Stop and start it before then.\n\n{FILLER * 10}"
        )
        return (
            "Amazon Web Services <no-reply-aws@amazon.com>",
            "[Retirement Notification] EC2 Instance",
            body,
            "en",
        )
    body = f"Your AWS account {account} is on hold. Pay now at the link below.\n\n{FILLER * 11}"
    return "AWS Billing <billing@aws-billing-center.com>", "Action Required: AWS Account On Hold", body, "en"


def _encode(rng: random.Random, number: int, sender: str, subject: str, body: str, language: str) -> bytes:
    sent = START + timedelta(minutes=number * 7)
    date = sent.strftime("%a, %d %b %Y %H:%M:%S +0000")
    if rng.random() < 0.05 and language == "en":  # a customer's Gmail forward
        body = (
            f"Please check.\n\n---------- Forwarded message ---------\nFrom: {sender}\nDate: {date}\n"
            f"Subject: {subject}\nTo: <ops@example.jp>\n\n\n{body}"
        )
        sender, subject = "Taro <taro@customer.example.jp>", f"Fwd: {subject}"
    charset = "iso-2022-jp" if language == "ja" else "utf-8"
    subject_header = Header(subject, charset).encode() if not subject.isascii() else subject
    head = (
        f"Return-Path: <bounce-{number}@amazonses.com>\nReceived: from a{number}.smtp-out.amazonses.com "
        f"(a{number}.smtp-out.amazonses.com [54.240.8.{number % 250}])\n\tby mx.example.jp with ESMTPS\n"
        f"\tfor <ops@example.jp>; {date}\nFrom: {sender}\nTo: ops@example.jp\nSubject: {subject_header}\n"
        f"Date: {date}\nMessage-ID: <bench-{number}@email.amazonses.com>\nMIME-Version: 1.0\n"
    )
    data = body.encode(charset)
    shape = rng.random()
    if language == "ja":
        part = (
            f'Content-Type: text/plain; charset="{charset}"\nContent-Transfer-Encoding: 7bit\n\n'.encode()
            + data
        )
    elif shape < 0.55:
        part = b"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        part += quopri.encodestring(data)
    elif shape < 0.65:
        part = b"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n"
        part += base64.encodebytes(data)
    else:
        html = "".join(f"<p>{line}</p>" for line in body.split("\n") if line).encode()
        part = (
            b'Content-Type: multipart/alternative; boundary="alt"\n\n--alt\n'
            b"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n"
            + quopri.encodestring(data)
            + b"\n--alt\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n"
            + base64.encodebytes(html[:1500])
            + b"\n--alt--\n"
        )
    return head.encode() + part


def write_mbox(path: Path, count: int, seed: int = 7) -> int:
    """Write ``count`` notices as an mbox, one at a time; return the file size."""
    rng = random.Random(seed)
    with path.open("wb") as out:
        for number in range(count):
            raw = _encode(rng, number, *_notice(rng, number))
            out.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n")
            for line in raw.splitlines(keepends=True):
                out.write(b">" + line if line.lstrip(b">").startswith(b"From ") else line)
            out.write(b"\n")
    return path.stat().st_size


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process)


def _clock() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def bench_triage(mbox: Path, database: Path, checkpoint: int) -> tuple[Timing, int, dict[int, float]]:
    engine = open_store(f"sqlite:///{database}")
    peaks: dict[int, float] = {}
    started = _clock()
    done = 0
    for done, _result in enumerate(Triage(engine).run(read_sources([str(mbox)])), start=1):
        if done == checkpoint:
            peaks[done] = _rss_mb()
    elapsed = _since(started)
    peaks[done] = _rss_mb()
    engine.dispose()
    return elapsed, done, peaks


def bench_parse(mbox: Path) -> tuple[Timing, int]:
    parser = BytesParser()  # compat32: the stdlib's fast path
    started = _clock()
    done = 0
    with mbox.open("rb") as stream:
        for item in split_mbox(stream, str(mbox)):
            parser.parsebytes(item.raw)
            done += 1
    return _since(started), done


def _messages(mbox: Path) -> Iterator[bytes]:
    with mbox.open("rb") as stream:
        for item in split_mbox(stream, str(mbox)):
            yield item.raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="notices to generate (default 50,000)")
    parser.add_argument("--profile", action="store_true", help="print the triage's cProfile top 25")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="noticedesk-bench-") as folder:
        mbox = Path(folder) / "notices.mbox"
        size = write_mbox(mbox, args.count)
        sizes = [len(raw) for raw in _messages(mbox)]
        print(
            f"mbox: {args.count:,} notices, {size / 1e6:.1f} MB, mean {sum(sizes) / len(sizes) / 1e3:.1f} KB"
        )
        checkpoint = min(10_000, args.count)
        profile = cProfile.Profile() if args.profile else None
        if profile:
            profile.enable()
        triage_s, triaged, peaks = bench_triage(mbox, Path(folder) / "bench.db", checkpoint)
        if profile:
            profile.disable()
        parse_s, parsed = bench_parse(mbox)
        # Wall time depends on what else the machine runs; CPU time of this process does not.
        for label, index in (("wall", 0), ("CPU", 1)):
            parse_rate, triage_rate = parsed / parse_s[index], triaged / triage_s[index]
            print(f"{label} time:")
            print(f"  (a) compat32 parse only:     {parse_rate:7,.0f} messages/s ({parse_s[index]:.1f} s)")
            print(f"  (b) full triage into SQLite: {triage_rate:7,.0f} messages/s ({triage_s[index]:.1f} s)")
            print(f"  ratio (b)/(a): {triage_rate / parse_rate:.2f} (target >= 0.5)")
        for at, peak in sorted(peaks.items()):
            print(f"peak RSS after {at:>6,} messages: {peak:6.1f} MB")
        if profile:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())


if __name__ == "__main__":
    main()
