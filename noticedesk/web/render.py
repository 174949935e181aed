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

from noticedesk.cases.urgency import urgency
from noticedesk.config import zone_of
from noticedesk.timetext import time_left
from noticedesk.web.auth import Principal
from noticedesk.web.security import csrf_token

LANGS = ("en", "ja")
DEFAULT_ZONE = {"ja": "Asia/Tokyo"}


@cache
def _tables() -> dict[str, Any]:
    text = resources.files("noticedesk.web").joinpath("labels.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def labels() -> dict[str, dict[str, str]]:
    """The labels per language (``t.name`` in a template)."""
    return {lang: {k: v for k, v in table.items() if k != "values"} for lang, table in _tables().items()}


@cache
def value_labels() -> dict[str, dict[str, str]]:
    """Stored codes (kinds, stages, statuses, verdicts) as a language shows them (``tv(code)``)."""
    return {lang: dict(table.get("values", {})) for lang, table in _tables().items()}


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


class Words:
    """The labels of one language for a template: ``t.copy`` is the label, never ``dict.copy``."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self._table = table

    def __getattr__(self, name: str) -> str:
        try:
            return self._table[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> str:
        return self._table[name]


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
    shown = value_labels()[reader.lang]

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
            t=Words(words),
            tv=lambda code: shown.get(code, code) if code else "-",
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
