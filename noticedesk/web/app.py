"""The Starlette app: ``create_app(engine, config)``; routes can be added to what it returns.

- ``POST /webhooks/sns``: the SNS HTTP(S) endpoint; the raw body is read whatever the
  Content-Type (SNS sends ``text/plain``), up to 1 MiB (``MAX_SNS_BODY``; beyond: 413).
- ``GET /api/ses/suppressed/{address}``: may this address be mailed? For applications to ask
  before sending.
- the dashboard (``GET /``, ``/cases/{id}``, ``/ses``), its JSON API under ``/api/`` and
  ``GET /openapi.json``: behind a login (``noticedesk users``) or an API token.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from noticedesk.aws.actions.base import Clients
from noticedesk.clock import utc_now
from noticedesk.config import Config, load_config
from noticedesk.errors import NotFoundError, NoticeDeskError
from noticedesk.feedback.sns_verify import CertificateCache, SnsVerifier
from noticedesk.feedback.verdicts import PolicySettings
from noticedesk.feedback.webhook import Confirm, SnsWebhook, sns_confirmer
from noticedesk.monitoring import store_monitoring
from noticedesk.runtime import Runtime, boto3_clients
from noticedesk.store.db import DEFAULT_URL, open_store
from noticedesk.web import api, case_actions, pages, ses
from noticedesk.web.auth import Gatekeeper, LoginThrottle
from noticedesk.web.context import WebContext
from noticedesk.web.security import SessionCodec, SessionSettings, WebGuard, session_key

log = logging.getLogger(__name__)


def create_app(
    engine: Engine,
    config: Config,
    *,
    clock: Callable[[], datetime] = utc_now,
    certificates: CertificateCache | None = None,
    confirm: Confirm | None = None,
    clients: Callable[[], Clients] | None = None,
) -> Starlette:
    """The whole app; ``clients`` builds the AWS clients fixes are applied with (default: the
    standard chain, acting as the account's registered role, else ``[fixes] role_name``)."""
    verifier = SnsVerifier(config.sns, certificates or CertificateCache.from_config(config.sns), clock)
    webhook = SnsWebhook(
        engine,
        verifier,
        confirm or sns_confirmer(boto3_clients()),
        PolicySettings.from_config(config.ses),
        clock,
    )
    # Fixes act in a case's account as the CLI's do: its registered role, else [fixes] role_name.
    runtime = Runtime("", config, clock, _engine=engine)
    context = WebContext(
        engine=engine,
        config=config,
        clock=clock,
        gate=Gatekeeper(engine, config.web),
        throttle=LoginThrottle(config.web.login_attempts, config.web.login_window_minutes * 60),
        clients=clients or (lambda: runtime.clients(default_role=config.fixes.role_name)),
    )

    registry = CollectorRegistry()
    monitor = store_monitoring(engine, clock, registry)  # /healthz and /readyz: for probes, no login

    async def metrics(_request: Request) -> Response:
        """Prometheus text (open cases by urgency, the outbox): a viewer or an API token."""
        return Response(await run_in_threadpool(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)

    codec = SessionCodec(
        SessionSettings(
            key=session_key(engine, clock()),
            idle_seconds=int(config.web.session_idle_minutes * 60),
            max_seconds=int(config.web.session_max_hours * 3600),
        ),
        clock,
    )
    app = Starlette(
        routes=[
            Route("/webhooks/sns", SnsEndpoint(webhook), methods=["POST"]),
            *api.routes(context),
            Route("/healthz", monitor, methods=["GET"]),
            Route("/readyz", monitor, methods=["GET"]),
            Route("/metrics", context.gate.guard("viewer", metrics, api=True), methods=["GET"]),
            *pages.routes(context),
            *case_actions.routes(context),
            *ses.routes(context),
            Mount("/static", StaticFiles(packages=[("noticedesk.web", "static")]), name="static"),
        ],
        middleware=[Middleware(WebGuard, codec=codec, clock=clock)],
        exception_handlers={NoticeDeskError: _refusal},
    )
    app.state.engine = engine
    app.state.config = config
    return app


async def _refusal(request: Request, error: Exception) -> Response:
    """A refusal of the use case (no such case, not verified, nothing to plan) as 404 or 409."""
    status = 404 if isinstance(error, NotFoundError) else 409
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(error)}, status_code=status)
    return Response(f"{status}: {error}\n", status_code=status, media_type="text/plain; charset=utf-8")


def what_runs(config: Config, base_url: str = "") -> list[str]:
    """What this server accepts, one sentence each: for ``serve``'s first lines."""
    topics = len(config.sns.allowed_topics)
    webhook = f"  SNS webhook at {base_url}/webhooks/sns (POST), topics allowed: {topics}"
    if topics == 0:
        webhook += " — every message will be refused until [sns] allowed_topics is set"
    dashboard = f"  dashboard at {base_url}/ (log in as a user of `noticedesk users`)"
    api = (
        f"  JSON API under {base_url}/api/ (a logged-in session or an API token), described at /openapi.json"
    )
    return [webhook, dashboard, api]


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
