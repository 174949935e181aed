"""Run the app under uvicorn: one process in-line, or several workers through the factory.

Slow clients are cut off: a request must arrive whole within ``[web] request_timeout_seconds``
of the server starting to wait for it, its headers within ``MAX_HEADER_BYTES``; at most
``[web] max_connections`` are served at once (beyond: 503). uvicorn has no such deadline of
its own: a half-sent request held a connection and a file descriptor as long as the client liked.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from noticedesk.config import Config
from noticedesk.errors import ConfigError
from noticedesk.net import is_loopback
from noticedesk.store.db import open_store
from noticedesk.web.app import CONFIG_JSON_VARIABLE, create_app, what_runs


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"http://{shown}:{port}"


MAX_HEADER_BYTES = 64 * 1024
"""Request line and headers: an SNS POST sends well under 4 KiB of them."""


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline on reading each request and a cap on its headers."""

    def __init__(self, *args: Any, request_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._header_bytes: int | None = 0  # None once the headers are complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_bytes is not None:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self.transport.close()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._header_bytes = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()  # the app has it all; how long it takes is not the client's doing

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._header_bytes = 0
            self._arm()  # the next request on this connection has its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def _limits(config: Config) -> dict[str, Any]:
    """uvicorn settings against slow and numerous clients (a partial of a module-level class, so
    that it reaches worker processes too)."""
    return {
        "http": functools.partial(DeadlineProtocol, request_timeout=config.web.request_timeout_seconds),
        "limit_concurrency": config.web.max_connections,
        "timeout_keep_alive": 5,
        # X-Forwarded-Proto/-For believed from [web] trusted_proxies only (uvicorn's default is
        # 127.0.0.1): a session cookie is Secure when the proxy says the browser came over TLS.
        "proxy_headers": True,
        "forwarded_allow_ips": ",".join(config.web.trusted_proxies),
    }


def serve(
    db_url: str,
    config: Config,
    host: str,
    port: int,
    workers: int = 1,
    announce: Callable[[str], None] = lambda _line: None,
) -> None:
    """Serve until stopped; ``announce`` is told, line by line, where it listens and what it accepts."""
    if not is_loopback(host) and not config.web.api_tokens:
        raise ConfigError(
            f"refusing to serve the API on {host} without [web] api_tokens: anyone who can reach "
            "it could read the suppression list (bind to 127.0.0.1, or set tokens)"
        )
    announce(f"NoticeDesk serves on {base_url(host, port)} (Ctrl+C stops it):")
    for line in what_runs(config, base_url(host, port)):
        announce(line)
    # A server logs why it refused a request (403 from the webhook), whatever the CLI's verbosity.
    logging.getLogger("noticedesk.feedback").setLevel(logging.WARNING)
    logging.getLogger("noticedesk.web").setLevel(logging.WARNING)  # failed and throttled logins
    if workers <= 1:
        uvicorn.run(
            create_app(open_store(db_url), config),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            **_limits(config),
        )
        return
    # Workers are separate processes: each builds its app from the same environment.
    os.environ["NOTICEDESK_DATABASE_URL"] = db_url
    os.environ[CONFIG_JSON_VARIABLE] = config.model_dump_json()
    open_store(db_url).dispose()  # migrate once, before the workers start
    uvicorn.run(
        "noticedesk.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        **_limits(config),
    )
