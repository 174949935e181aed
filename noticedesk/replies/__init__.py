"""Replies to AWS and summaries for the account owner, drafted from what a case knows.

    gather (store → ReplyContext) ─► compose_reply (pure; evidence) ─► Draft ─► formats (text / md / eml)
                                  └► compose_summary (pure, ja | en)
    record: reply-drafted / reply-sent on the timeline; mark_sent stops the reply-by clock.

Nothing is sent by NoticeDesk: the person reads the draft, fixes what the warnings name, and
sends it (by mail, or in the AWS Support Center case).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from noticedesk.replies.compose import Draft, Style, Variant, compose_reply
from noticedesk.replies.gather import ReplyContext, gather
from noticedesk.replies.summary import Lang, compose_summary

__all__ = ["Draft", "ReplyContext", "draft_reply", "gather", "owner_summary"]


def draft_reply(
    engine: Engine, case_id: int, now: datetime, style: Style = "text", variant: Variant | None = None
) -> Draft:
    """The English reply to AWS for one case (nothing recorded, nothing sent): the acknowledgement
    or the resolution, by default the resolution once it is ready."""
    return compose_reply(gather(engine, case_id), now, style, variant)


def owner_summary(engine: Engine, case_id: int, lang: Lang, now: datetime) -> str:
    """The owner's summary of one case, in Japanese (``ja``) or English (``en``)."""
    return compose_summary(gather(engine, case_id), lang, now)
