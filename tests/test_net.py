"""`is_loopback`: the one judge of 'this machine only' for the web server and the IMAP watcher."""

from __future__ import annotations

import pytest

from noticedesk.net import is_loopback


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "::1"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "10.0.0.1", "192.0.2.7", "mail.example.com", "localhost.", ""]
)
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)
