"""Proof that an SNS message comes from SNS: signature v1 (SHA1) / v2 (SHA256), pinned certificate.

Checks run cheapest first, and everything that needs no network runs before the certificate
is fetched: shape, ``Type``, ``SignatureVersion``, ``TopicArn`` on the allow-list, the
``SigningCertURL`` parsed and pinned to ``sns.<region>.amazonaws.com(.cn)`` (the region of the
topic), the ``Timestamp`` fresh. Only then the certificate (memory → ``certificate_dir`` → HTTPS
with no redirects, a timeout and a size cap) and the signature. Any failure raises
``SnsRejected`` with the reason (docs/ses-feedback.md, "How a webhook request is judged"; the
signing rules: docs/aws-facts.md, 2).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from noticedesk.config import SnsConfig
from noticedesk.errors import SnsRejected, SnsUnavailable
from noticedesk.feedback.events import parse_timestamp
from noticedesk.printable import loggable

log = logging.getLogger(__name__)

# AWS's own patterns (aws-php-sns-message-validator, the .NET SDK, sns-validator), used with fullmatch.
CERT_HOST = re.compile(r"sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?")
CERT_PATH = re.compile(r"/SimpleNotificationService-[A-Za-z0-9]+\.pem")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
MAX_CERT_BYTES = 64 * 1024
_CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _CONFIRMATION_KEYS,
    "UnsubscribeConfirmation": _CONFIRMATION_KEYS,
}
_REQUIRED = {kind: tuple(key for key in keys if key != "Subject") for kind, keys in SIGNED_KEYS.items()}
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


def validate_certificate_url(url: object) -> tuple[str, str]:
    """The (host, file name) of an acceptable ``SigningCertURL``; ``SnsRejected`` otherwise.

    ``urlsplit`` silently drops tabs and newlines, so any control or non-ASCII character is
    refused before parsing; userinfo and ports are refused by matching the whole netloc.
    """
    if not isinstance(url, str):
        raise SnsRejected("SigningCertURL is not a plain URL")
    return _validate_certificate_url(url)


# SNS signs with a handful of certificates, so every request brings one of a few URLs: an accepted
# URL is remembered (a bounded cache, so a flood of distinct URLs cannot grow it); a refused one
# raises, which lru_cache never caches, and is judged afresh each time.
@functools.lru_cache(maxsize=64)
def _validate_certificate_url(url: str) -> tuple[str, str]:
    if not url.isascii() or _CONTROL.search(url):
        raise SnsRejected("SigningCertURL is not a plain URL")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise SnsRejected("SigningCertURL is not https")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise SnsRejected("SigningCertURL has a query or fragment")
    if not CERT_HOST.fullmatch(parts.netloc):
        raise SnsRejected(f"SigningCertURL host {parts.netloc!r} is not sns.<region>.amazonaws.com")
    if not CERT_PATH.fullmatch(parts.path):
        raise SnsRejected("SigningCertURL path is not /SimpleNotificationService-….pem")
    return parts.netloc.lower(), parts.path[1:]


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """``Key\\nValue\\n`` for each signed key present, in AWS's order, from the decoded values.

    The newline separates keys from values, so a value holding one could pass for other fields:
    ``MessageId = "M1\\nSubject\\nS"`` without a ``Subject`` signs the same bytes as ``M1`` with
    ``Subject`` ``S``, and a replay gets a new MessageId. ``SnsRejected`` for such a message:
    only ``Message`` may span lines (a confirmation's text does), and no line of it may be a key.
    """
    keys = SIGNED_KEYS[message["Type"]]
    for key in keys:
        value = message.get(key)
        if value is None or "\n" not in value:
            continue
        if key != "Message" or not set(value.split("\n")).isdisjoint(keys):
            raise SnsRejected(f"{key} holds a line break where the signed string separates fields")
    return "".join(f"{key}\n{message[key]}\n" for key in keys if key in message).encode("utf-8")


def fetch_certificate(url: str, timeout: float) -> bytes:
    """GET over verified TLS, no redirects, at most ``MAX_CERT_BYTES``, all of it within ``timeout``
    (a host that drips a byte at a time is cut off, not waited for)."""
    deadline = time.monotonic() + timeout
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, verify=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise SnsRejected(f"certificate fetch answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_CERT_BYTES:
                    raise SnsRejected("certificate larger than the size cap")
                if time.monotonic() > deadline:
                    raise SnsUnavailable(f"certificate not fetched within {timeout:g} s")
            return bytes(body)
    except httpx.HTTPError as error:
        raise SnsUnavailable(f"certificate not fetched: {type(error).__name__}: {error}") from error


class CertificateNotCached(Exception):
    """Internal signal: the certificate would have to be read or fetched (not from memory)."""


@dataclass
class _Entry:
    expires: float
    certificate: x509.Certificate | None = None
    key: rsa.RSAPublicKey | None = None
    error: SnsRejected | None = None


MAX_CERTIFICATES = 64
"""Certificates kept in memory: SNS signs with a handful, so only a flood of fakes would fill it."""
MAX_REMEMBERED_FAILURES = 1024
"""URLs whose load failed, remembered for ``failure_ttl``: the least recently asked go first."""


class CertificateCache:
    """Certificates by URL: in memory (TTL), on disk (``<dir>/<host>/<file>``), else fetched.

    A certificate in memory is handed out without waiting for anything. Loads are single-flight
    per URL: requests for one URL wait for its one fetch, never for another URL's; at most
    ``fetches_per_minute`` fetches start in any minute (beyond: ``SnsUnavailable``, answered 503
    so that SNS delivers again), so names made up by the thousand cost a bounded amount of time,
    connections and memory. The lock guards only the tables, never a fetch.
    """

    def __init__(
        self,
        directory: Path | None = None,
        fetch: Callable[[str], bytes] | None = None,
        ttl_seconds: float = 86_400.0,
        failure_ttl_seconds: float = 30.0,
        timeout_seconds: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
        fetches_per_minute: int = 30,
    ) -> None:
        self.directory = directory
        self.fetch = fetch or (lambda url: fetch_certificate(url, timeout_seconds))
        self.ttl = ttl_seconds
        self.failure_ttl = failure_ttl_seconds
        self.monotonic = monotonic
        self.fetches_per_minute = fetches_per_minute
        self._memory: dict[str, _Entry] = {}
        self._failures: OrderedDict[str, _Entry] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._fetches: deque[float] = deque()
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: SnsConfig) -> CertificateCache:
        return cls(
            config.certificate_dir,
            ttl_seconds=config.certificate_ttl_seconds,
            failure_ttl_seconds=config.failure_ttl_seconds,
            timeout_seconds=config.fetch_timeout_seconds,
            fetches_per_minute=config.certificate_fetches_per_minute,
        )

    def public_key(self, url: str, now: datetime, memory_only: bool = False) -> rsa.RSAPublicKey:
        """The key to verify with; ``memory_only`` raises ``CertificateNotCached`` rather than do I/O."""
        entry = self._cached(url)
        if entry is None:
            if memory_only:
                raise CertificateNotCached(url)
            entry = self._load_once(url)
        if entry.error is not None or entry.certificate is None or entry.key is None:
            raise entry.error or SnsRejected("certificate not usable")
        if not entry.certificate.not_valid_before_utc <= now <= entry.certificate.not_valid_after_utc:
            raise SnsRejected("signing certificate is outside its validity period")
        return entry.key

    def _cached(self, url: str) -> _Entry | None:
        now = self.monotonic()
        entry = self._memory.get(url)  # the common case: no lock
        if entry is not None and entry.expires > now:
            return entry
        with self._lock:
            failed = self._failures.get(url)
            if failed is None or failed.expires <= now:
                return None
            self._failures.move_to_end(url)
            return failed

    def _load_once(self, url: str) -> _Entry:
        with self._lock:
            gate = self._loading.setdefault(url, threading.Lock())
        try:
            with gate:  # whoever came first loads; the others find its result
                entry = self._cached(url)
                if entry is None:
                    entry = self._load(url)
                    self._remember(url, entry)
                return entry
        finally:
            with self._lock:
                if self._loading.get(url) is gate:
                    del self._loading[url]

    def _remember(self, url: str, entry: _Entry) -> None:
        with self._lock:
            if entry.error is None:
                self._failures.pop(url, None)
                self._memory[url] = entry
                while len(self._memory) > MAX_CERTIFICATES:
                    del self._memory[next(iter(self._memory))]
                return
            self._failures[url] = entry
            self._failures.move_to_end(url)
            while len(self._failures) > MAX_REMEMBERED_FAILURES:
                self._failures.popitem(last=False)

    def _load(self, url: str) -> _Entry:
        host, name = validate_certificate_url(url)
        try:
            pem = self._read_or_fetch(url, host, name)
            certificate = x509.load_pem_x509_certificate(pem)
        except _BudgetSpent:
            raise
        except SnsRejected as error:
            log.warning("sns certificate unavailable url=%r reason=%s", url, loggable(error.reason))
            return _Entry(self.monotonic() + self.failure_ttl, error=error)
        except ValueError as error:
            reason = SnsRejected(f"certificate is not a PEM X.509: {error}")
            return _Entry(self.monotonic() + self.failure_ttl, error=reason)
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return _Entry(
                self.monotonic() + self.failure_ttl, error=SnsRejected("certificate key is not RSA")
            )
        return _Entry(self.monotonic() + self.ttl, certificate, key)

    def _read_or_fetch(self, url: str, host: str, name: str) -> bytes:
        path = self.directory / host / name if self.directory is not None else None
        if path is not None and path.is_file():
            return path.read_bytes()
        self._spend_fetch()
        pem = self.fetch(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_bytes(pem)
            partial.replace(path)
        return pem

    def _spend_fetch(self) -> None:
        """One fetch from the budget of the last 60 s, or ``SnsUnavailable`` (not remembered)."""
        with self._lock:
            now = self.monotonic()
            while self._fetches and self._fetches[0] <= now - 60:
                self._fetches.popleft()
            if len(self._fetches) >= self.fetches_per_minute:
                raise _BudgetSpent(f"over {self.fetches_per_minute} certificate fetches a minute")
            self._fetches.append(now)


class _BudgetSpent(SnsUnavailable):
    """Not the certificate's fault: never remembered as its failure."""


class SnsVerifier:
    """``verify(body)`` → the decoded SNS message, or ``SnsRejected`` with the reason."""

    def __init__(
        self,
        config: SnsConfig,
        certificates: CertificateCache,
        clock: Callable[[], datetime],
    ) -> None:
        self.allowed_topics = frozenset(config.allowed_topics)
        self.max_age = config.max_age_seconds
        self.certificates = certificates
        self.clock = clock

    def verify(self, body: bytes, memory_only: bool = False) -> dict[str, Any]:
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise SnsRejected("body is not JSON") from error
        if not isinstance(message, dict):
            raise SnsRejected("body is not a JSON object")
        kind = message.get("Type")
        if kind not in SIGNED_KEYS:
            raise SnsRejected(f"unknown Type {kind!r}")
        for key in (*_REQUIRED[kind], "Signature", "SignatureVersion", "SigningCertURL"):
            if not isinstance(message.get(key), str):
                raise SnsRejected(f"{key} missing or not a string")
        if "Subject" in message and not isinstance(message["Subject"], str):
            raise SnsRejected("Subject is not a string")
        version = message["SignatureVersion"]
        if version not in _HASHES:
            raise SnsRejected(f"SignatureVersion {version!r} is not 1 or 2")
        topic = message["TopicArn"]
        if topic not in self.allowed_topics:
            raise SnsRejected(f"topic {topic!r} is not in [sns] allowed_topics")
        host, _ = validate_certificate_url(message["SigningCertURL"])
        topic_region = topic.split(":")[3] if topic.count(":") >= 5 else ""
        if host.split(".")[1] != topic_region:
            raise SnsRejected("SigningCertURL region differs from the topic's region")
        now = self.clock()
        sent = parse_timestamp(message["Timestamp"])
        if sent is None or abs((now - sent).total_seconds()) > self.max_age:
            raise SnsRejected(f"Timestamp {message['Timestamp']!r} is stale or unreadable")
        try:
            signature = base64.b64decode(message["Signature"], validate=True)
        except binascii.Error as error:
            raise SnsRejected("Signature is not base64") from error
        signed = string_to_sign(message)  # refuses a field holding the separator: before any fetch
        public_key = self.certificates.public_key(message["SigningCertURL"], now, memory_only)
        try:
            public_key.verify(signature, signed, padding.PKCS1v15(), _HASHES[version]())
        except InvalidSignature as error:
            raise SnsRejected("signature does not verify") from error
        return message
