"""Runbooks (data, Japanese and English): cause, what happens if ignored, steps, references, and the
facts about AWS they rest on, each with the AWS page that states it.

One TOML file per kind (``runbooks/<kind>.toml``) and per abuse type
(``runbooks/abuse-<type>.toml``). A case's checklist is the steps of its kind's runbook
followed by those of each abuse type it names.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from noticedesk.errors import NotFoundError

LANGUAGES = ("en", "ja")


@dataclass(frozen=True)
class Step:
    key: str
    en: str
    ja: str


@dataclass(frozen=True)
class Reference:
    title: str
    url: str
    url_ja: str = ""  # the same page in Japanese, when AWS publishes one


@dataclass(frozen=True)
class Fact:
    """One thing the runbook tells the owner about AWS (a level, a clock, a rule), with its AWS page."""

    en: str
    ja: str
    source: str
    url: str
    url_ja: str = ""


@dataclass(frozen=True)
class Runbook:
    name: str
    title: dict[str, str]
    cause: dict[str, str]
    if_ignored: dict[str, str]
    steps: tuple[Step, ...]
    references: tuple[Reference, ...]
    facts: tuple[Fact, ...] = ()


def _load(name: str) -> Runbook:
    folder = resources.files("noticedesk.cases").joinpath("runbooks")
    entry = folder.joinpath(f"{name}.toml")
    if not entry.is_file():
        raise NotFoundError(f"no runbook named {name!r}")
    data = tomllib.loads(entry.read_text("utf-8"))
    return Runbook(
        name=name,
        title={lang: data[lang]["title"] for lang in LANGUAGES},
        cause={lang: data[lang]["cause"] for lang in LANGUAGES},
        if_ignored={lang: data[lang]["if_ignored"] for lang in LANGUAGES},
        steps=tuple(Step(step["key"], step["en"], step["ja"]) for step in data.get("step", [])),
        references=tuple(
            Reference(ref["title"], ref["url"], ref.get("url_ja", "")) for ref in data.get("reference", [])
        ),
        facts=tuple(
            Fact(fact["en"], fact["ja"], fact["source"], fact["url"], fact.get("url_ja", ""))
            for fact in data.get("fact", [])
        ),
    )


@cache
def runbook(name: str) -> Runbook:
    return _load(name)


def runbook_names() -> list[str]:
    return list(_runbook_names())


@cache
def _runbook_names() -> tuple[str, ...]:
    """Listed once per process: package data does not change while it runs (triage asks per case)."""
    folder = resources.files("noticedesk.cases").joinpath("runbooks")
    return tuple(
        sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml"))
    )


def runbooks_for(kind: str, abuse_types: tuple[str, ...] = ()) -> list[Runbook]:
    """The kind's runbook and one per abuse type (those without a runbook of their own are skipped)."""
    names = [kind, *(f"abuse-{abuse_type}" for abuse_type in abuse_types)]
    available = set(runbook_names())
    return [runbook(name) for name in names if name in available]


def checklist_for(kind: str, abuse_types: tuple[str, ...] = ()) -> list[Step]:
    steps: dict[str, Step] = {}
    for book in runbooks_for(kind, abuse_types):
        for step in book.steps:
            steps.setdefault(step.key, step)
    return list(steps.values())
