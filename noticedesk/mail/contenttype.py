"""compat32's Content-Type readers, remembered per header value.

``Message.get_content_type()``, ``get_boundary()`` and ``get_content_charset()`` read the first
Content-Type header and nothing else (``get_content_type`` also the default type, when there is
no such header). Their parameter parsing costs tens of microseconds a call, and notices repeat
the same few values ("text/plain; charset=UTF-8"), so each answer is worked out once per value,
by the method itself, on a message that holds only that header. ``value`` is what
``message.get("Content-Type")`` returned; values that are not plain ``str`` (a ``Header`` for raw
8-bit bytes) and other policies go to the method as they are.
"""

from __future__ import annotations

from email.message import Message
from email.policy import compat32
from functools import lru_cache
from typing import Any


def content_type_of(message: Message, value: Any) -> str:
    """``message.get_content_type()``."""
    if value is None:
        return message.get_default_type()
    if isinstance(value, str) and message.policy is compat32:
        return _content_type_in(value)
    return message.get_content_type()


def boundary_of(message: Message, value: Any) -> str | None:
    """``message.get_boundary()``."""
    if isinstance(value, str) and message.policy is compat32:
        return _boundary_in(value)
    return message.get_boundary()


def charset_of(message: Message, value: Any) -> str | None:
    """``message.get_content_charset()``."""
    if isinstance(value, str) and message.policy is compat32:
        return _charset_in(value)
    return message.get_content_charset()


@lru_cache(maxsize=1024)
def _content_type_in(value: str) -> str:
    return _holding(value).get_content_type()


@lru_cache(maxsize=1024)
def _boundary_in(value: str) -> str | None:
    return _holding(value).get_boundary()


@lru_cache(maxsize=1024)
def _charset_in(value: str) -> str | None:
    return _holding(value).get_content_charset()


def _holding(value: str) -> Message:
    message = Message()
    message.set_raw("Content-Type", value)
    return message
