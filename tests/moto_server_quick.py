"""``moto_server``, with moto's "now" read from ``time.time()``: the same value at a tenth of the cost.

moto's SQS reads the clock twice for every message of a queue at every receive (is it visible? is
it delayed?) through a datetime round trip; with thousands of messages queued, that alone made a
receive take a second. Nothing else changes. Run: ``python -m tests.moto_server_quick -H … -p …``.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

import moto.core.utils as moto_utils
import moto.sqs.models as sqs_models
from moto.server import main

_unix_time = moto_utils.unix_time


def unix_time(dt: datetime | None = None) -> float:
    return time.time() if dt is None else _unix_time(dt)


def unix_time_millis(dt: datetime | None = None) -> float:
    return unix_time(dt) * 1000.0


for module in (moto_utils, sqs_models):
    module.unix_time = unix_time  # type: ignore[assignment]
    module.unix_time_millis = unix_time_millis  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
