"""The webhook under hostile clients: certificate names made up by the thousand, slow hosts, slow clients."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from noticedesk.config import Config, SnsConfig
from noticedesk.errors import SnsRejected, SnsUnavailable
from noticedesk.feedback.sns_verify import (
    MAX_REMEMBERED_FAILURES,
    CertificateCache,
    fetch_certificate,
)
from noticedesk.web.app import create_app
from tests.live_server import running
from tests.sns_signing import (
    CERT_HOST,
    CERT_URL,
    TOPIC,
    bounce,
    certificate_pem,
    notification,
    seed_certificate,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def fake_url(number: int | str) -> str:
    return f"https://{CERT_HOST}/SimpleNotificationService-fake{number}.pem"


class SlowHost:
    """A certificate host on loopback that answers after ``delay`` (404), or drips a body slowly."""

    def __init__(self, delay: float = 0.0, drip: bool = False) -> None:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests += 1
                if drip:
                    self.send_response(200)
                    self.send_header("content-length", "100000")
                    self.end_headers()
                    for _ in range(200):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.2)
                    return
                time.sleep(delay)
                self.send_error(404)

            def log_message(self, *args: Any) -> None:
                pass

        self.requests = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fetch(self, timeout: float) -> Any:
        """A fetch that goes here instead of to sns.<region>.amazonaws.com, otherwise as in production."""
        return lambda url: fetch_certificate(url.replace(f"https://{CERT_HOST}", self.base), timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_host() -> Iterator[SlowHost]:
    host = SlowHost(delay=6.0)
    yield host
    host.close()


def test_one_url_is_fetched_once_however_many_ask() -> None:
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        time.sleep(0.3)
        return certificate_pem()

    cache = CertificateCache(None, fetch=fetch)
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: cache.public_key(CERT_URL, NOW), range(8)))
    assert calls == [CERT_URL] and len({id(key) for key in keys}) == 1


def test_a_slow_fetch_of_one_url_holds_up_no_other(tmp_path: Path) -> None:
    seed_certificate(tmp_path)
    released = threading.Event()

    def fetch(url: str) -> bytes:
        released.wait(10)
        raise SnsRejected("certificate fetch answered HTTP 404")

    cache = CertificateCache(tmp_path, fetch=fetch)

    def ask_for_the_fake() -> None:
        with pytest.raises(SnsRejected):
            cache.public_key(fake_url(1), NOW)

    stuck = threading.Thread(target=ask_for_the_fake)
    stuck.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert cache.public_key(CERT_URL, NOW) is not None  # from certificate_dir, not behind the fetch
    assert time.monotonic() - started < 1
    released.set()
    stuck.join()


def test_fetches_are_rationed_per_minute_and_the_ration_is_not_remembered_as_a_failure() -> None:
    clock = [0.0]
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        if url == CERT_URL:
            return certificate_pem()
        raise SnsRejected("certificate fetch answered HTTP 404")

    cache = CertificateCache(None, fetch=fetch, fetches_per_minute=5, monotonic=lambda: clock[0])
    for number in range(20):
        with pytest.raises(SnsRejected) as raised:
            cache.public_key(fake_url(number), NOW)
        assert isinstance(raised.value, SnsUnavailable) == (number >= 5)
    assert len(calls) == 5
    with pytest.raises(SnsUnavailable, match="over 5 certificate fetches a minute"):
        cache.public_key(CERT_URL, NOW)
    clock[0] = 61
    assert cache.public_key(CERT_URL, NOW) is not None  # the genuine one, once the minute is over


def test_remembered_failures_are_bounded() -> None:
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        raise SnsRejected("certificate fetch answered HTTP 404")

    cache = CertificateCache(None, fetch=fetch, fetches_per_minute=10**6)
    for number in range(MAX_REMEMBERED_FAILURES + 500):
        with pytest.raises(SnsRejected):
            cache.public_key(fake_url(number), NOW)
    with pytest.raises(SnsRejected):
        cache.public_key(fake_url(MAX_REMEMBERED_FAILURES + 499), NOW)  # recent: remembered
    with pytest.raises(SnsRejected):
        cache.public_key(fake_url(0), NOW)  # the oldest: forgotten, so fetched again
    assert calls.count(fake_url(MAX_REMEMBERED_FAILURES + 499)) == 1
    assert calls.count(fake_url(0)) == 2


def test_a_host_that_drips_its_answer_is_cut_off_at_the_timeout() -> None:
    host = SlowHost(drip=True)
    try:
        started = time.monotonic()
        with pytest.raises(SnsUnavailable, match="within 1 s"):
            host.fetch(1.0)(fake_url("drip"))
        assert time.monotonic() - started < 3
    finally:
        host.close()


def _post(url: str, message: dict[str, Any], timeout: float = 30) -> httpx.Response:
    return httpx.post(f"{url}/webhooks/sns", content=json.dumps(message), timeout=timeout)


def test_made_up_certificate_names_do_not_delay_a_genuine_notification(
    sqlite_engine: Engine, tmp_path: Path, slow_host: SlowHost
) -> None:
    """A real server; a real, slow certificate host on loopback. Twelve POSTs name certificate files
    that do not exist (no signature needed to get that far, only an allowed topic); a correctly
    signed notification whose certificate is on disk, then one whose certificate is in memory,
    are answered at once."""
    seed_certificate(tmp_path)
    config = Config(sns=SnsConfig(certificate_dir=tmp_path, allowed_topics=[TOPIC]))
    cache = CertificateCache(tmp_path, fetch=slow_host.fetch(10.0))
    app = create_app(sqlite_engine, config, clock=lambda: NOW, certificates=cache)
    with running(app) as url, ThreadPoolExecutor(12) as pool:
        fakes = []
        for number in range(12):
            fake = notification(bounce("a@example.org", f"fake-{number}"), NOW)
            fake["SigningCertURL"] = fake_url(uuid.uuid4().hex)
            fakes.append(pool.submit(_post, url, fake))
        time.sleep(0.5)  # the twelve are waiting for the slow host now
        started = time.monotonic()
        cold = _post(url, notification(bounce("b@example.org", "genuine-1"), NOW), timeout=10)
        cold_seconds = time.monotonic() - started
        started = time.monotonic()
        warm = _post(url, notification(bounce("c@example.org", "genuine-2"), NOW), timeout=10)
        warm_seconds = time.monotonic() - started
        answers = [future.result().status_code for future in fakes]
    assert (cold.status_code, warm.status_code) == (200, 200)
    # Behind one lock, the first would wait for twelve fetches of 6 s; here it waits for none.
    assert cold_seconds < 3 and warm_seconds < 3
    assert set(answers) <= {403, 503}
    assert slow_host.requests == 12


def test_a_rationed_fetch_is_answered_503_so_sns_delivers_again(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    config = Config(sns=SnsConfig(certificate_dir=tmp_path, allowed_topics=[TOPIC]))
    cache = CertificateCache(tmp_path, fetch=lambda url: certificate_pem(), fetches_per_minute=1)
    app = create_app(sqlite_engine, config, clock=lambda: NOW, certificates=cache)
    with running(app) as url:
        fake = notification(bounce("a@example.org", "fake"), NOW)
        fake["SigningCertURL"] = fake_url("one")
        assert _post(url, fake).status_code == 200  # fetched: the budget of one spent
        fake["SigningCertURL"] = fake_url("two")
        assert _post(url, fake).status_code == 503
