"""An event's message, rendered from the catalogue in ``data/messages.toml``; pure.

What happened, what to do next, the time left (counted at sending, not at queueing) and the
command to run, in the account's language. Channels lay the same ``Message`` out their own way.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from noticedesk.timetext import jst, time_left, utc

PLACEHOLDER = "-"


@dataclass(frozen=True)
class Message:
    kind: str
    language: str
    title: str
    what: str
    next_step: str
    command: str
    time_left: str | None
    deadline: datetime | None
    case_id: str | None
    account_id: str | None
    account: str
    """The account as shown: ``name (id)``, or the id flagged as unknown."""
    delivery_id: str
    dedupe_key: str
    facts: Mapping[str, str]
    contacts: tuple[str, ...] = ()
    """The owner contacts of the account (e-mail channels may write to them too)."""

    def label(self, name: str) -> str:
        return str(catalogue()["words"][self.language][name])

    @property
    def text(self) -> str:
        """The message as plain text: title, what happened, time left, next step, command."""
        lines = [self.title, "", self.what]
        if self.time_left:
            lines.append(f"{self.label('time_left_label')}: {self.time_left}")
        lines += [
            f"{self.label('next_label')}: {self.next_step}",
            f"{self.label('command_label')}: {self.command}",
        ]
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "dedupe_key": self.dedupe_key,
            "kind": self.kind,
            "language": self.language,
            "case_id": self.case_id,
            "account_id": self.account_id,
            "account": self.account,
            "title": self.title,
            "what": self.what,
            "next": self.next_step,
            "command": self.command,
            "time_left": self.time_left,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "facts": dict(self.facts),
            "text": self.text,
        }


@cache
def catalogue() -> dict[str, Any]:
    text = resources.files("noticedesk.notify").joinpath("data/messages.toml").read_text("utf-8")
    return tomllib.loads(text)


def entry_name(kind: str, facts: Mapping[str, str]) -> str:
    """The catalogue entry of an event: its kind with dashes; a stage change to resolved has its own."""
    if kind == "case.stage" and facts.get("stage") == "resolved":
        return "case-resolved"
    return kind.replace(".", "-")


class _Filled(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return PLACEHOLDER


def render(
    kind: str,
    facts: Mapping[str, str],
    *,
    language: str,
    now: datetime,
    case_id: str | None,
    account_id: str | None,
    delivery_id: str = "",
    dedupe_key: str = "",
    contacts: tuple[str, ...] = (),
) -> Message:
    """The message of one event as of ``now`` (which the time left is counted from)."""
    language = language if language in ("en", "ja") else "en"
    words = catalogue()["words"][language]
    entry = catalogue()[entry_name(kind, facts)][language]
    deadline = _time(facts.get("deadline"))
    values = _Filled({key: value for key, value in facts.items() if value != ""})
    values["case_id"] = case_id or PLACEHOLDER
    values["case"] = words["case"].format(case_id=case_id) if case_id else PLACEHOLDER
    values["account"] = _account(words, account_id, facts)
    for worded in ("deadline_label", "metric", "level"):  # a word of the [words] tables
        if worded in facts:
            values[worded] = words.get(facts[worded], facts[worded])
    left = time_left(deadline, now, language) if deadline else None
    values["time_left"] = left or PLACEHOLDER
    values["deadline_at"] = (jst if language == "ja" else utc)(deadline)
    return Message(
        kind=kind,
        language=language,
        title=entry["title"].format_map(values),
        what=entry["what"].format_map(values),
        next_step=entry["next"].format_map(values),
        command=facts.get("command") or entry["command"].format_map(values),
        time_left=left,
        deadline=deadline,
        case_id=case_id,
        account_id=account_id,
        account=values["account"],
        delivery_id=delivery_id,
        dedupe_key=dedupe_key,
        facts=dict(facts),
        contacts=contacts,
    )


def _account(words: Mapping[str, str], account_id: str | None, facts: Mapping[str, str]) -> str:
    if not account_id:
        return words["no_account"]
    name = facts.get("account_name")
    if name:
        return f"{name} ({account_id})"
    return words["unknown_account"].format(account_id=account_id)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
