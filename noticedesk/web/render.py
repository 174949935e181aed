"""Pages as HTML: the Jinja2 templates (escaped by default), labels in the reader's language,
times in the reader's zone."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from noticedesk.cases.board import urgency
from noticedesk.config import zone_of
from noticedesk.timetext import time_left
from noticedesk.web.auth import Principal
from noticedesk.web.security import csrf_token

LANGS = ("en", "ja")
DEFAULT_ZONE = {"ja": "Asia/Tokyo"}


@cache
def labels() -> dict[str, dict[str, str]]:
    text = resources.files("noticedesk.web").joinpath("labels.toml").read_text("utf-8")
    return {lang: dict(table) for lang, table in tomllib.loads(text).items()}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("noticedesk.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@dataclass(frozen=True)
class Reader:
    """Who reads the page, in which language and zone."""

    principal: Principal | None
    lang: str
    zone: tzinfo
    zone_name: str


def reader_of(request: Request, principal: Principal | None, display_zone: str | None) -> Reader:
    """Language: the session's choice, else the user's, else the browser's; zone: the user's, else
    Asia/Tokyo for Japanese, else ``[display] timezone``, else UTC."""
    chosen = request.session.get("lang")
    if chosen not in LANGS:
        chosen = principal.lang if principal and principal.lang in LANGS else None
    if chosen not in LANGS:
        accepted = request.headers.get("accept-language", "").lower()
        chosen = "ja" if accepted.startswith("ja") else "en"
    name = (principal.timezone if principal else None) or DEFAULT_ZONE.get(chosen) or display_zone or "UTC"
    try:
        zone = zone_of(name)
    except ValueError:
        name, zone = "UTC", zone_of("UTC")
    return Reader(principal, str(chosen), zone, name)


def page(
    request: Request, reader: Reader, template: str, now: datetime, status: int = 200, **values: Any
) -> HTMLResponse:
    words = labels()[reader.lang]

    def local(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M %Z") -> str:
        return value.astimezone(reader.zone).strftime(pattern) if value else "-"

    def left(value: datetime | None) -> str:
        return time_left(value, now, reader.lang) if value else words["no_deadline"]

    def pick(texts: Mapping[str, str] | None) -> str:
        """A ``{"en": …, "ja": …}`` text in the reader's language (English when it has no Japanese)."""
        if not texts:
            return ""
        return texts.get(reader.lang) or texts.get("en") or ""

    body = (
        environment()
        .get_template(template)
        .render(
            t=words,
            lang=reader.lang,
            zone_name=reader.zone_name,
            user=reader.principal,
            csrf=csrf_token(request.session),
            path=request.url.path,
            now=now,
            local=local,
            left=left,
            pick=pick,
            urgency=lambda value: urgency(value, now),
            iso=lambda value: value.isoformat() if value else "",
            **values,
        )
    )
    return HTMLResponse(body, status_code=status)
