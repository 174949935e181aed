"""What every route of the web app is built with: store, settings, clock, gatekeeper, AWS clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from noticedesk.aws.actions.base import Clients
from noticedesk.config import Config
from noticedesk.errors import NotFoundError
from noticedesk.web.auth import Gatekeeper, LoginThrottle, Principal
from noticedesk.web.render import Reader, reader_of


@dataclass
class WebContext:
    engine: Engine
    config: Config
    clock: Callable[[], datetime]
    gate: Gatekeeper
    throttle: LoginThrottle
    clients: Callable[[], Clients]
    """Built when a fix is applied or undone, not before (pages need no AWS)."""

    def reader(self, request: Request) -> Reader:
        principal: Principal | None = getattr(request.state, "principal", None)
        return reader_of(request, principal, self.config.display.timezone)

    async def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Store and AWS work off the event loop."""
        return await run_in_threadpool(function, *args, **kwargs)


def principal(request: Request) -> Principal:
    found: Principal = request.state.principal
    return found


def case_id_of(request: Request) -> int:
    """The ``{case_id}`` of the path; anything but a plausible id is no case (404)."""
    raw = str(request.path_params["case_id"])
    if not raw.isdigit() or len(raw) > 12:
        raise NotFoundError(f"no case {raw}")
    return int(raw)
