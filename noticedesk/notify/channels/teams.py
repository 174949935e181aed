"""Microsoft Teams through a Workflows webhook ("post to a channel when a webhook request is
received"): the message as an Adaptive Card in a ``message`` envelope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from noticedesk.notify.channels.base import HttpPool, post_json
from noticedesk.notify.messages import Message

ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _plain(text: str) -> str:
    """Text a card shows as it is: Adaptive Cards render Markdown links, and a notice's subject
    must not become one (``[Sign in](https://evil.example)``)."""
    return text.replace("](", "]\u200b(")


def card(message: Message) -> dict[str, Any]:
    """The Workflows payload: one Adaptive Card (1.4) with title, what, facts, the command."""
    facts = []
    if message.time_left:
        facts.append({"title": message.label("time_left_label"), "value": message.time_left})
    facts.append({"title": message.label("next_label"), "value": message.next_step})
    content = {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": _plain(message.title),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": _plain(message.what), "wrap": True},
            {"type": "FactSet", "facts": facts},
            {
                "type": "TextBlock",
                "text": message.label("command_label"),
                "weight": "Bolder",
                "spacing": "Medium",
            },
            {"type": "TextBlock", "text": message.command, "fontType": "Monospace", "wrap": True},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
        ],
    }


@dataclass
class TeamsChannel:
    name: str
    url: str
    timeout_seconds: float = 10.0
    pool: HttpPool = field(default_factory=HttpPool, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"TeamsChannel(name={self.name!r})"

    def payload(self, message: Message) -> bytes:
        return orjson.dumps(card(message))

    def send(self, message: Message) -> None:
        post_json(self.name, self.url, self.payload(message), {}, self.timeout_seconds, self.pool)

    def close(self) -> None:
        self.pool.close()
