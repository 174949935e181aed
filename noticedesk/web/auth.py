"""Who is asking, and may they: sessions of local users, API tokens, a trusted proxy's user header.

``guard(role, handler)`` wraps a route: no one → the login page (HTML) or 401 (``/api/``); too
small a role → 403; a state change by a browser session without the session's CSRF token (form
field ``csrf_token`` or header ``X-CSRF-Token``) → 403. API tokens carry no cookie, so no CSRF.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from noticedesk.config import WebConfig
from noticedesk.users import find_user, may
from noticedesk.web.security import CSRF_FIELD, CSRF_HEADER, UNSAFE_METHODS, csrf_matches

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    via: str  # session | token | proxy
    lang: str | None = None
    timezone: str | None = None


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def _in(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


class Gatekeeper:
    def __init__(self, engine: Engine, config: WebConfig) -> None:
        self.engine = engine
        self.config = config

    def token_principal(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer ") or not self.config.api_tokens:
            return None
        presented = header[7:].strip().encode()
        if any(hmac.compare_digest(presented, token.encode()) for token in self.config.api_tokens):
            return Principal("api-token", self.config.api_token_role, "token")
        return None

    def resolve(self, request: Request) -> Principal | None:
        """The caller, checked against the users table on every request (a removed user, a changed
        password or role takes effect at once)."""
        token = self.token_principal(request)
        if token is not None:
            return token
        if self.config.user_header and _in(client_address(request), self.config.trusted_proxies):
            named = request.headers.get(self.config.user_header)
            if named:
                user = find_user(self.engine, named.strip())
                if user is None:
                    return None
                return Principal(user.name, user.role, "proxy", user.lang, user.timezone)
        session = request.session
        name, version = session.get("user"), session.get("v")
        if not isinstance(name, str):
            return None
        user = find_user(self.engine, name)
        if user is None or user.session_version != version:
            session.clear()
            return None
        return Principal(user.name, user.role, "session", user.lang, user.timezone)

    def guard(self, role: str, handler: Handler, *, api: bool | None = None) -> Handler:
        async def guarded(request: Request) -> Response:
            is_api = request.url.path.startswith("/api/") if api is None else api
            principal = await run_in_threadpool(self.resolve, request)
            if principal is None:
                if is_api or request.method in UNSAFE_METHODS:
                    return JSONResponse({"error": "log in or present an API token"}, status_code=401)
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            if request.method in UNSAFE_METHODS and principal.via != "token":
                presented = request.headers.get(CSRF_HEADER)
                if presented is None and _is_form(request):
                    presented = str((await request.form()).get(CSRF_FIELD) or "")
                if not csrf_matches(request.session, presented):
                    return _refused(is_api, "missing or wrong CSRF token: reload the page and try again")
            if not may(principal.role, role):
                return _refused(is_api, f"your role ({principal.role}) may not do this: {role} needed")
            request.state.principal = principal
            return await handler(request)

        guarded.__name__ = getattr(handler, "__name__", "guarded")
        guarded.__doc__ = handler.__doc__
        guarded.role = role  # type: ignore[attr-defined]  # read by the role tests and the route list
        return guarded


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _refused(is_api: bool, reason: str) -> Response:
    if is_api:
        return JSONResponse({"error": reason}, status_code=403)
    return Response(f"403 Forbidden: {reason}\n", status_code=403, media_type="text/plain; charset=utf-8")


class LoginThrottle:
    """Failed logins per user name and per client address in a sliding window (this process).

    An address may fail ``ADDRESS_FACTOR`` times as often as a name: several people may share it
    (an office behind one NAT), while one name guessed at from many places still stops at the limit."""

    ADDRESS_FACTOR = 4

    def __init__(self, attempts: int, window_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.attempts = attempts
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures[key]
        cutoff = self.clock() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def blocked(self, name: str, address: str) -> float:
        """Seconds to wait before trying again (0: go ahead)."""
        limits = (
            (f"user:{name.lower()}", self.attempts),
            (f"addr:{address}", self.attempts * self.ADDRESS_FACTOR),
        )
        waits = [
            failures[0] + self.window - self.clock()
            for key, limit in limits
            if len(failures := self._recent(key)) >= limit
        ]
        return max(waits, default=0.0)

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        for key in (f"user:{name.lower()}", f"addr:{address}"):
            self._recent(key).append(now)
        if len(self._failures) > 100_000:  # a flood of made-up names: forget the quiet ones
            for key in [key for key, value in self._failures.items() if not self._recent(key)]:
                del self._failures[key]

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"user:{name.lower()}", None)


def safe_next(target: Any) -> str:
    """Where to go after login: a path on this site only (never ``//host`` or a URL)."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"
