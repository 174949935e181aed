#!/usr/bin/env python3
"""Each fast path of the read path against its plain path, on the same generated notices.

    .venv/bin/python bench/fast_paths.py              # 500 notices (~5 KB each, every kind)
    .venv/bin/python bench/fast_paths.py --count 2000

The notices are bench/triage.py's. Per notice, best of three runs, CPU time of this process:
MIME parsing (``fastmime.parse_fast`` against compat32's ``BytesParser``), the Content-Type
readers (``contenttype``, remembered per value, against ``Message``'s own methods), and
classification with Hyperscan and the needles, with the needles only, and with ``re`` alone. Each
line prints the ratio plain / fast: a path is kept while that ratio is worth its code
(docs/performance.md). The results are checked to be equal, as the tests do.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.triage import _encode, _notice
from noticedesk.mail import contenttype, fastmime
from noticedesk.mail.forwarded import original_of
from noticedesk.mail.parse import ParsedMail, parse_bytes
from noticedesk.notices import pattern_words
from noticedesk.notices.classify import classify
from noticedesk.notices.rules import RuleTable, rule_table


def per_notice(work: Callable[[], object], count: int, rounds: int = 3) -> float:
    """Microseconds of CPU per notice, best of ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best / count * 1e6


def line(what: str, fast: float, plain: float, fast_name: str, plain_name: str) -> None:
    print(f"{what:<12} {fast_name:>17} {fast:6.1f} µs  {plain_name:>15} {plain:6.1f} µs {plain / fast:4.1f}x")


def content_types(messages: list[Message], cached: bool) -> None:
    for message in messages:
        for part in message.walk():
            if cached:
                value = part.get("Content-Type")
                contenttype.content_type_of(part, value)
                contenttype.charset_of(part, value)
            else:
                part.get_content_type()
                part.get_content_charset()


def classified(mails: list[ParsedMail], table: RuleTable) -> list[object]:
    return [classify(mail, table) for mail in mails]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    count = parser.parse_args().count
    rng = random.Random(7)
    raws = [_encode(rng, number, *_notice(rng, number)) for number in range(count)]
    print(f"{count} generated notices, mean {sum(map(len, raws)) // count:,} bytes")

    stdlib = BytesParser()
    fast_parse = per_notice(
        lambda: [fastmime.parse_fast(raw) or stdlib.parsebytes(raw) for raw in raws], count
    )
    plain_parse = per_notice(lambda: [stdlib.parsebytes(raw) for raw in raws], count)
    line("MIME parse", fast_parse, plain_parse, "fastmime", "BytesParser")

    messages = [stdlib.parsebytes(raw) for raw in raws]
    cached = per_notice(lambda: content_types(messages, True), count)
    methods = per_notice(lambda: content_types(messages, False), count)
    line("Content-Type", cached, methods, "remembered", "Message methods")

    mails = [original_of(*parse_bytes(raw, "<bench>")) for raw in raws]
    scanned, needles_only = rule_table(), rule_table(scan=False)
    expected = classified(mails, scanned)
    with_scanner = per_notice(lambda: classified(mails, scanned), count)
    with_needles = per_notice(lambda: classified(mails, needles_only), count)
    pattern_words.AVAILABLE = False  # a table whose patterns have no needles: re alone
    rule_table.cache_clear()
    re_alone = rule_table(scan=False)
    assert classified(mails, needles_only) == expected == classified(mails, re_alone)
    plain_classify = per_notice(lambda: classified(mails, re_alone), count)
    line("classify", with_scanner, plain_classify, "Hyperscan+needles", "re alone")
    line("classify", with_needles, plain_classify, "needles only", "re alone")


if __name__ == "__main__":
    main()
