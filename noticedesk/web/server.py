"""Run the app under uvicorn: one process in-line, or several workers through the factory."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable

import uvicorn

from noticedesk.config import Config
from noticedesk.errors import ConfigError
from noticedesk.store.db import open_store
from noticedesk.web.app import CONFIG_JSON_VARIABLE, create_app, what_runs


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"http://{shown}:{port}"


def serve(
    db_url: str,
    config: Config,
    host: str,
    port: int,
    workers: int = 1,
    announce: Callable[[str], None] = lambda _line: None,
) -> None:
    """Serve until stopped; ``announce`` is told, line by line, where it listens and what it accepts."""
    if not _is_loopback(host) and not config.web.api_tokens:
        raise ConfigError(
            f"refusing to serve the API on {host} without [web] api_tokens: anyone who can reach "
            "it could read the suppression list (bind to 127.0.0.1, or set tokens)"
        )
    announce(f"NoticeDesk serves on {base_url(host, port)} (Ctrl+C stops it):")
    for line in what_runs(config, base_url(host, port)):
        announce(line)
    # A server logs why it refused a request (403 from the webhook), whatever the CLI's verbosity.
    logging.getLogger("noticedesk.feedback").setLevel(logging.WARNING)
    if workers <= 1:
        uvicorn.run(
            create_app(open_store(db_url), config),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
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
    )
