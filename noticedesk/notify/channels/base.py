"""What every channel is: something that sends one ``Message`` or raises ``DeliveryError``."""

from __future__ import annotations

from typing import Protocol

import httpx

from noticedesk.errors import DeliveryError
from noticedesk.notify.messages import Message


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Deliver ``message`` once; ``DeliveryError`` (``permanent`` when retrying cannot help)."""
        ...


RETRYABLE_STATUS = frozenset({408, 425, 429})


def post_json(name: str, url: str, body: bytes, headers: dict[str, str], timeout: float) -> httpx.Response:
    """POST ``body`` to ``url``; any failure as a ``DeliveryError`` that never quotes the URL.

    5xx, 408, 425 and 429 (and no answer at all) are worth another try; any other status is not.
    """
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=timeout,
            follow_redirects=False,
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL, ValueError):  # not a URL to post to at all
        raise DeliveryError(f"channel {name}: the webhook URL is not usable", permanent=True) from None
    except httpx.HTTPError as error:  # connection refused, timeout, TLS
        reason = str(error).replace(url, "<url>") or type(error).__name__
        raise DeliveryError(
            f"channel {name}: receiver not reached ({type(error).__name__}: {reason})"
        ) from None
    if response.is_success:
        return response
    permanent = response.status_code < 500 and response.status_code not in RETRYABLE_STATUS
    snippet = response.text[:200].replace(url, "<url>").strip()
    raise DeliveryError(
        f"channel {name}: receiver answered HTTP {response.status_code}"
        + (f": {snippet}" if snippet else ""),
        permanent=permanent,
    )
