"""What every channel is: something that sends one ``Message`` or raises ``DeliveryError``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import httpx

from noticedesk.errors import DeliveryError
from noticedesk.notify.messages import Message


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Deliver ``message`` once; ``DeliveryError`` (``permanent`` when retrying cannot help)."""
        ...


@runtime_checkable
class Closable(Protocol):
    def close(self) -> None:
        """Let go of what the channel holds open (its HTTP connections); it may be used again."""
        ...


RETRYABLE_STATUS = frozenset({408, 425, 429})


class HttpPool:
    """One ``httpx.Client`` for a channel, made on its first send and kept: its TLS context and
    open connection serve every later send (a client per send cost 80–180 ms of set-up)."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(follow_redirects=False)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def post_json(
    name: str, url: str, body: bytes, headers: dict[str, str], timeout: float, pool: HttpPool
) -> httpx.Response:
    """POST ``body`` to ``url`` through ``pool``; any failure as a ``DeliveryError`` that never
    quotes the URL.

    5xx, 408, 425 and 429 (and no answer at all) are worth another try; any other status is not.
    """
    try:
        response = pool.client().post(
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


@dataclass
class JsonPostChannel:
    """A channel that POSTs its own JSON shape of a message to a URL (Slack, Teams): a subclass
    says the shape (``payload``)."""

    name: str
    url: str
    timeout_seconds: float = 10.0
    pool: HttpPool = field(default_factory=HttpPool, repr=False, compare=False)

    def __repr__(self) -> str:  # the URL (a secret: it lets anyone post) stays out of every repr
        return f"{type(self).__name__}(name={self.name!r})"

    def payload(self, message: Message) -> bytes:
        raise NotImplementedError

    def send(self, message: Message) -> None:
        post_json(self.name, self.url, self.payload(message), {}, self.timeout_seconds, self.pool)

    def close(self) -> None:
        self.pool.close()
