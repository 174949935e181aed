"""The pages people read: login, the case board, one case (read-only parts), the language switch."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from noticedesk.accounts.registry import account_names
from noticedesk.aws.actions import mask_secrets
from noticedesk.cases.board import STATUSES, BoardFilter, board_page
from noticedesk.notices.model import Kind
from noticedesk.users import authenticate
from noticedesk.web.auth import client_address, safe_next
from noticedesk.web.context import WebContext, case_id_of, principal
from noticedesk.web.render import LANGS, labels, page
from noticedesk.web.security import CSRF_FIELD, csrf_matches
from noticedesk.web.views import case_view

log = logging.getLogger(__name__)
PAGE_SIZE = 100
KINDS = tuple(kind.value for kind in Kind)


def board_filter(params: Any) -> BoardFilter:
    status = params.get("status") or "open"
    return BoardFilter(
        account=params.get("account") or None,
        kind=params.get("kind") or None,
        status=status if status in ("open", "all", *STATUSES) else "open",
        overdue=params.get("overdue") in ("1", "true", "on"),
        search=(params.get("q") or "").strip()[:200] or None,
    )


def offset_of(params: Any) -> int:
    value = params.get("offset", "0")
    return int(value) if value.isdigit() and len(value) < 9 else 0


def routes(ctx: WebContext) -> list[Route]:
    async def board(request: Request) -> Response:
        filters = board_filter(request.query_params)
        now = ctx.clock()

        def read() -> tuple[Any, dict[str, str]]:
            with ctx.engine.connect() as connection:
                found = board_page(connection, filters, now, PAGE_SIZE, offset_of(request.query_params))
                return found, account_names(connection, found.accounts)

        found, names = await ctx.run(read)
        query = urlencode(
            {key: value for key, value in request.query_params.items() if key != "offset"}, doseq=False
        )
        return page(
            request,
            ctx.reader(request),
            "board.html.j2",
            now,
            board=found,
            filters=filters,
            kinds=KINDS,
            statuses=STATUSES,
            names=names,
            query=query,
        )

    async def case_page(request: Request) -> Response:
        case_id = case_id_of(request)
        reader = ctx.reader(request)
        now = ctx.clock()
        view = await ctx.run(case_view, ctx.engine, case_id, now, reader.lang, principal(request).role)
        return page(request, reader, "case.html.j2", now, masked=mask_secrets, **view)

    async def login_form(request: Request) -> Response:
        return _login_page(ctx, request, safe_next(request.query_params.get("next")), None)

    async def login(request: Request) -> Response:
        form = await request.form()
        target = safe_next(form.get("next"))
        if not csrf_matches(request.session, str(form.get(CSRF_FIELD) or "")):
            return _login_page(ctx, request, target, labels()[_lang(ctx, request)]["session_ended"], 403)
        name = str(form.get("username") or "").strip()[:64]
        password = str(form.get("password") or "")[:1024]
        address = client_address(request)
        if ctx.throttle.blocked(name, address) > 0:
            log.warning("login throttled", extra={"user": name, "client": address})
            return _login_page(ctx, request, target, labels()[_lang(ctx, request)]["login_throttled"], 429)
        user = await ctx.run(authenticate, ctx.engine, name, password, ctx.clock())
        if user is None:
            ctx.throttle.failed(name, address)
            log.warning("login failed", extra={"user": name, "client": address})
            return _login_page(ctx, request, target, labels()[_lang(ctx, request)]["login_failed"], 401)
        ctx.throttle.succeeded(name)
        log.info("login", extra={"user": user.name, "role": user.role, "client": address})
        lang = request.session.get("lang")
        request.session.clear()  # a new session (and CSRF token) at login: no fixation
        request.session.update(
            {"user": user.name, "v": user.session_version, "t0": int(ctx.clock().timestamp())}
        )
        if lang in LANGS:
            request.session["lang"] = lang
        return RedirectResponse(target, status_code=303)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if not csrf_matches(request.session, str(form.get(CSRF_FIELD) or "")):
            return Response("403 Forbidden: missing or wrong CSRF token\n", status_code=403)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def switch_language(request: Request) -> Response:
        """The language of the pages for this session (a login keeps it)."""
        form = await request.form()
        if not csrf_matches(request.session, str(form.get(CSRF_FIELD) or "")):
            return Response("403 Forbidden: missing or wrong CSRF token\n", status_code=403)
        lang = form.get("lang")
        if lang in LANGS:
            request.session["lang"] = lang
        return RedirectResponse(safe_next(form.get("next")), status_code=303)

    guard = ctx.gate.guard
    return [
        Route("/", guard("viewer", board), methods=["GET"]),
        Route("/cases/{case_id}", guard("viewer", case_page), methods=["GET"]),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang", switch_language, methods=["POST"]),
    ]


def _lang(ctx: WebContext, request: Request) -> str:
    return ctx.reader(request).lang


def _login_page(
    ctx: WebContext, request: Request, target: str, message: str | None, status: int = 200
) -> Response:
    return page(
        request, ctx.reader(request), "login.html.j2", ctx.clock(), status, next=target, message=message
    )
