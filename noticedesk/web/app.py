"""The Starlette app: ``create_app(engine, config)``; routes can be added to what it returns.

- ``POST /webhooks/sns``: the SNS HTTP(S) endpoint; the raw body is read whatever the
  Content-Type (SNS sends ``text/plain``), up to 1 MiB (``MAX_SNS_BODY``; beyond: 413).
- ``GET /api/ses/suppressed/{address}``: may this address be mailed? For applications to ask
  before sending.
- ``GET /``: a small page saying what runs here (until the dashboard exists).
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from noticedesk.clock import utc_now
from noticedesk.config import Config, load_config
from noticedesk.feedback.events import normalise_address
from noticedesk.feedback.sns_verify import CertificateCache, SnsVerifier
from noticedesk.feedback.suppressions import find_suppression
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.feedback.webhook import Confirm, SnsWebhook, sns_confirmer
from noticedesk.runtime import boto3_clients
from noticedesk.store.db import DEFAULT_URL, open_store

log = logging.getLogger(__name__)


def create_app(
    engine: Engine,
    config: Config,
    *,
    clock: Callable[[], datetime] = utc_now,
    certificates: CertificateCache | None = None,
    confirm: Confirm | None = None,
) -> Starlette:
    verifier = SnsVerifier(config.sns, certificates or CertificateCache.from_config(config.sns), clock)
    webhook = SnsWebhook(
        engine,
        verifier,
        confirm or sns_confirmer(boto3_clients()),
        PolicySettings.from_config(config.ses),
        clock,
    )

    def authorised(request: Request) -> bool:
        """With ``[web] api_tokens`` set, the API answers only a caller that presents one."""
        if not config.web.api_tokens:
            return True
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return any(hmac.compare_digest(presented, token) for token in config.web.api_tokens)

    async def suppressed_endpoint(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "a valid API token is required"}, status_code=401)
        address = normalise_address(request.path_params["address"])
        if address is None:
            return JSONResponse({"error": "not an e-mail address"}, status_code=400)

        def look_up() -> dict[str, object]:
            with engine.connect() as connection:
                found = find_suppression(connection, address)
            if found is None:
                return {"address": address, "suppressed": False, "known": False}
            return {**found.to_json(clock()), "known": True}

        return JSONResponse(await run_in_threadpool(look_up))

    async def home(_request: Request) -> HTMLResponse:
        return HTMLResponse(_HOME.format(items="".join(f"<li>{item}</li>" for item in what_runs(config))))

    app = Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/webhooks/sns", SnsEndpoint(webhook), methods=["POST"]),
            Route("/api/ses/suppressed/{address}", suppressed_endpoint, methods=["GET"]),
        ]
    )
    app.state.engine = engine
    app.state.config = config
    return app


def what_runs(config: Config, base_url: str = "") -> list[str]:
    """What this server accepts, one sentence each: for ``GET /`` and for ``serve``'s first lines."""
    topics = len(config.sns.allowed_topics)
    webhook = f"  SNS webhook at {base_url}/webhooks/sns (POST), topics allowed: {topics}"
    if topics == 0:
        webhook += " — every message will be refused until [sns] allowed_topics is set"
    api = f"  suppression look-up at {base_url}/api/ses/suppressed/ADDRESS (GET)"
    api += ", API token required" if config.web.api_tokens else ", no token asked (loopback only)"
    return [webhook, api]


_HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NoticeDesk</title></head>
<body><h1>NoticeDesk</h1><p>This server runs:</p><ul>{items}</ul>
<p>There is no dashboard here yet: the cases are on the command line (<code>noticedesk cases</code>).</p>
</body></html>
"""


class SnsEndpoint:
    """``POST /webhooks/sns`` as a bare ASGI app: the raw body, whatever the Content-Type.

    SNS posts at volume; Starlette's ``Request`` and ``JSONResponse`` around each post cost about a
    third of what verifying its signature does, for nothing this endpoint uses.
    """

    def __init__(self, webhook: SnsWebhook) -> None:
        self.webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_SNS_BODY:  # refused before a byte is read
            await _too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_SNS_BODY:  # sent in chunks, without a length: cut off here
                await _too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await _answer(send, *await self.webhook.handle_async(b"".join(chunks)))


MAX_SNS_BODY = 1024 * 1024
"""The largest body ``POST /webhooks/sns`` reads: an SNS message is at most 256 KiB, its JSON
envelope (escaped message, signature, URLs) adds to that but not fourfold. A larger body is not
from SNS: 413, nothing read further, nothing stored."""


async def _answer(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _too_large(send: Send) -> None:
    log.warning("sns webhook body refused", extra={"reason": f"larger than {MAX_SNS_BODY} bytes"})
    await _answer(send, 413, {"error": f"body larger than {MAX_SNS_BODY // 1024} KiB: not an SNS message"})


CONFIG_JSON_VARIABLE = "NOTICEDESK_SERVE_CONFIG_JSON"


def app_from_environment() -> Starlette:
    """Factory for ``uvicorn --factory`` (several workers): the settings the CLI was started with."""
    serialised = os.environ.get(CONFIG_JSON_VARIABLE)
    if serialised:
        config = Config.model_validate_json(serialised)
    else:
        config_path = os.environ.get("NOTICEDESK_CONFIG")
        config = load_config(Path(config_path) if config_path else None)
    return create_app(open_store(os.environ.get("NOTICEDESK_DATABASE_URL", DEFAULT_URL)), config)
