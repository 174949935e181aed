"""A real `noticedesk serve` process on loopback against half-sent requests (bounded: 60 sockets)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from noticedesk.web.server import MAX_HEADER_BYTES

HALF_SENT = b"POST /webhooks/sns HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n"
TIMEOUT = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "noticedesk.toml"
    config.write_text(f"[web]\nrequest_timeout_seconds = {TIMEOUT}\nmax_connections = 40\n")
    port = _free_port()
    environment = {key: value for key, value in os.environ.items() if key != "NOTICEDESK_CONFIG"}
    database = f"sqlite:///{tmp_path / 'n.db'}"
    command = [sys.executable, "-m", "noticedesk", "--db", database, "--config", str(config), "serve"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _open(url: str, data: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=TIMEOUT * 4)
    if data:
        connection.sendall(data)
    return connection


def test_half_sent_requests_and_silent_connections_are_closed(server: str) -> None:
    held = [_open(server, HALF_SENT) for _ in range(20)]
    held += [_open(server, b"") for _ in range(5)]  # connected, nothing sent
    held += [_open(server, HALF_SENT + b"\r\n" + b"{")]  # headers whole, body never finished
    time.sleep(0.5)
    assert httpx.get(f"{server}/login", timeout=5).status_code == 200  # served meanwhile
    started = time.monotonic()
    for connection in held:
        connection.settimeout(TIMEOUT * 3)
        assert connection.recv(65536) == b""
        connection.close()
    assert time.monotonic() - started < TIMEOUT * 3


def test_an_endless_header_is_cut_off(server: str) -> None:
    connection = _open(server, HALF_SENT)
    connection.settimeout(TIMEOUT)
    try:
        for _ in range(MAX_HEADER_BYTES * 4 // 8000):
            connection.sendall(b"X-Padding: " + b"a" * 8000 + b"\r\n")
        assert connection.recv(65536) == b""
    except (BrokenPipeError, ConnectionResetError):
        pass  # cut off while sending or reading: closed, as it should be
    finally:
        connection.close()


def test_connections_beyond_the_cap_are_answered_503_at_once(server: str) -> None:
    held = [_open(server, HALF_SENT) for _ in range(45)]
    time.sleep(0.5)
    try:
        started = time.monotonic()
        answer = httpx.get(f"{server}/login", timeout=5)
        assert answer.status_code == 503 and time.monotonic() - started < 2
    finally:
        for connection in held:
            connection.close()
    time.sleep(TIMEOUT)
    assert httpx.get(f"{server}/login", timeout=5).status_code == 200
