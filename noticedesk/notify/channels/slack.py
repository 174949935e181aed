"""Slack through an incoming webhook: the message as Block Kit blocks, with a plain-text fallback."""

from __future__ import annotations

from typing import Any

import orjson

from noticedesk.notify.channels.base import JsonPostChannel
from noticedesk.notify.messages import Message

SLACK_TEXT_LIMIT = 3000  # characters of one section's text


def _mrkdwn_escape(text: str) -> str:
    """Slack's three control characters escaped, so a notice's subject cannot ping @channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(message: Message) -> dict[str, Any]:
    """The Block Kit payload: header, what happened, time left and next step, the command."""
    fields = []
    if message.time_left:
        fields.append(
            {"type": "mrkdwn", "text": f"*{message.label('time_left_label')}*\n{message.time_left}"}
        )
    fields.append(
        {"type": "mrkdwn", "text": f"*{message.label('next_label')}*\n{_mrkdwn_escape(message.next_step)}"}
    )
    body: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150], "emoji": False}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _mrkdwn_escape(message.what)[:SLACK_TEXT_LIMIT]},
        },
        {"type": "section", "fields": fields},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{message.label('command_label')}: `{_mrkdwn_escape(message.command)}`",
                }
            ],
        },
    ]
    return {"text": message.title, "blocks": body}


class SlackChannel(JsonPostChannel):
    def payload(self, message: Message) -> bytes:
        return orjson.dumps(blocks(message))
