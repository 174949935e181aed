"""Sessions in signed cookies, CSRF tokens and the security headers of every page and API answer.

The session is a small JSON object signed with a key kept in the store (``web_keys``, made on
first start and shared by every worker), in a cookie that is HttpOnly, SameSite=Lax, Secure when
the request came over TLS, and re-signed on each answer: it ends after ``session_idle_minutes``
without a request, and ``session_max_hours`` after the login whatever happens.
``POST /webhooks/sns`` passes through untouched (no cookie read, no header added: SNS posts at volume).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from noticedesk.store.tables import web_keys

COOKIE = "noticedesk_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNGUARDED_PATHS = frozenset({"/webhooks/sns"})

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
"""No inline script or style anywhere (the pages' JavaScript is one file of ours), no framing."""


def session_key(engine: Engine, now: datetime) -> str:
    """The key sessions are signed with: read from the store, made there on first use."""
    with engine.connect() as connection:
        found = connection.execute(select(web_keys.c.secret).where(web_keys.c.name == "session")).scalar()
    if found is not None:
        return str(found)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(web_keys).values(name="session", secret=secrets.token_urlsafe(48), created_at=now)
            )
    except IntegrityError:
        pass  # another worker made it first: use theirs
    return session_key(engine, now)


@dataclass(frozen=True)
class SessionSettings:
    key: str
    idle_seconds: int
    max_seconds: int


class SessionCodec:
    """Signs and reads sessions, timed by the app's clock (not the machine's: tests move it)."""

    def __init__(self, settings: SessionSettings, clock: Callable[[], datetime]) -> None:
        self.settings = settings

        class _Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock().timestamp())

        self._serializer = URLSafeTimedSerializer(settings.key, salt="noticedesk-session", signer=_Signer)

    def dumps(self, data: dict[str, Any]) -> str:
        return self._serializer.dumps(data)

    def loads(self, cookie: str, now: float) -> dict[str, Any]:
        """The session in ``cookie``; empty when it is forged, idle too long or too old."""
        try:
            data = self._serializer.loads(cookie, max_age=self.settings.idle_seconds)
        except BadSignature:  # SignatureExpired is one: idle too long
            return {}
        if not isinstance(data, dict):
            return {}
        started = data.get("t0")
        if isinstance(started, int | float) and now - started > self.settings.max_seconds:
            return {}
        return data


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made when it has none (an anonymous session has one too: login)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_matches(session: MutableMapping[str, Any], presented: str | None) -> bool:
    expected = session.get("csrf")
    if not isinstance(expected, str) or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


class WebGuard:
    """ASGI middleware: the session in ``scope["session"]`` and the security headers on the answer."""

    def __init__(self, app: ASGIApp, codec: SessionCodec, clock: Any) -> None:
        self.app = app
        self.codec = codec
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNGUARDED_PATHS:
            await self.app(scope, receive, send)
            return
        cookie = _cookie(scope)
        session = self.codec.loads(cookie, self.clock().timestamp()) if cookie else {}
        had_session = bool(session)
        scope["session"] = session

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                current = scope["session"]
                if current:
                    headers.append((b"set-cookie", self._cookie_header(scope, self.codec.dumps(current))))
                elif had_session:
                    headers.append((b"set-cookie", self._cookie_header(scope, "", expire=True)))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _cookie_header(self, scope: Scope, value: str, expire: bool = False) -> bytes:
        parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        parts.append("Max-Age=0" if expire else f"Max-Age={self.codec.settings.idle_seconds}")
        if scope.get("scheme") == "https":
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed Cookie header is no session
                return None
            morsel = jar.get(COOKIE)
            return morsel.value if morsel is not None else None
    return None
