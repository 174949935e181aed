"""The reply data: addressees per kind, phrases, prevention paragraphs, and the Jinja2 templates.

All of it lives in files next to this module (``data/*.toml``, ``templates/**/*.j2``); this module
only loads it once and offers small lookups. Pure after loading.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from noticedesk.aws.findings import mask_key
from noticedesk.timetext import jst, utc

_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


@dataclass(frozen=True)
class KindInfo:
    kind: str
    addressee: str
    via: str  # "mail" | "support-center"
    subject_tags: bool
    default_subject: str
    root_cause: bool
    greeting: str
    said: dict[str, str]
    means: dict[str, str]


def _toml(name: str) -> dict[str, Any]:
    text = resources.files("noticedesk.replies").joinpath(f"data/{name}").read_text("utf-8")
    return tomllib.loads(text)


@cache
def kinds() -> dict[str, KindInfo]:
    return {
        kind: KindInfo(
            kind=kind,
            addressee=entry["addressee"],
            via=entry["via"],
            subject_tags=entry["subject_tags"],
            default_subject=entry["default_subject"],
            root_cause=entry.get("root_cause", True),
            greeting=entry["greeting"],
            said={"en": entry["said_en"], "ja": entry["said_ja"]},
            means={"en": entry["means_en"], "ja": entry["means_ja"]},
        )
        for kind, entry in _toml("kinds.toml").items()
    }


@cache
def phrases() -> dict[str, Any]:
    return _toml("phrases.toml")


@cache
def prevention_table() -> dict[str, Any]:
    return _toml("prevention.toml")


def action_phrase(action: str, resource: str, region: str, lang: str) -> str | None:
    """The sentence for one action; ``None`` when the table has no entry for it."""
    entry = phrases()["action"].get(action)
    if entry is None:
        return None
    text: str = entry[lang]
    return text.format(resource=resource, region=region)


def word(section: str, key: str, lang: str, default: str | None = None) -> str:
    entry = phrases()[section].get(key, {})
    value = entry.get(lang)
    return str(value) if value is not None else (default if default is not None else key)


def mask_keys(text: str, keep: tuple[str, ...] = ()) -> str:
    """Every access key id in ``text`` shown as AKIA…WXYZ, except those in ``keep``."""
    return _KEY_ID.sub(lambda match: match[0] if match[0] in keep else mask_key(match[0]), text)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("noticedesk.replies", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # plain text and Markdown, never HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["utc"] = utc
    env.filters["jst"] = jst
    env.filters["mask"] = mask_keys
    return env


def tidy(text: str) -> str:
    """Templates leave blank-line runs and trailing spaces behind; one blank line at most."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def render(template: str, keep_keys: tuple[str, ...] = (), **values: Any) -> str:
    """A template rendered and tidied; access key ids masked except ``keep_keys`` (the reply to
    AWS names the key AWS named in full: a key id is not a secret, and AWS files by it)."""
    return tidy(mask_keys(environment().get_template(template).render(**values), keep_keys))


def render_string(source: str, **values: Any) -> str:
    return mask_keys(_compiled(source).render(**values))


@cache
def _compiled(source: str) -> Template:
    """A template given as text (a phrase from the phrasebook), compiled once: compiling costs
    milliseconds, rendering microseconds."""
    return environment().from_string(source)


def abuse_words(abuse_types: tuple[str, ...], lang: str) -> str:
    words = [word("abuse_type", name, lang) for name in abuse_types]
    joiner = "、" if lang == "ja" else ", "
    return joiner.join(words)
