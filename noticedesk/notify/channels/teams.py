"""Microsoft Teams through a Workflows webhook ("post to a channel when a webhook request is
received"): the message as an Adaptive Card in a ``message`` envelope."""

from __future__ import annotations

from typing import Any

import orjson

from noticedesk.notify.channels.base import JsonPostChannel
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


class TeamsChannel(JsonPostChannel):
    def payload(self, message: Message) -> bytes:
        return orjson.dumps(card(message))
