"""DKIM public keys: from DNS (TXT, short timeout, cached) or from a pinned keys file.

A lookup never raises for a missing key: it answers with the record or with the problem, so that
"no key" (unverified) is never confused with "wrong signature" (failed).

The pinned file (``[dkim] keys_file``, DESIGN.md §5) holds one key per line::

    SELECTOR._domainkey.DOMAIN  TXT-RECORD-TEXT

Blank lines and lines starting with ``#`` are ignored. The record text may be written as DNS zone
strings (``"v=DKIM1; k=rsa; " "p=MIIB…"``); the pieces are joined. When the file is configured,
DNS is not asked at all (air-gapped and pinned-key operation).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import dns.exception
import dns.resolver

from noticedesk.config import DkimConfig
from noticedesk.errors import ConfigError

_CACHE_SECONDS = 600.0
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class KeyAnswer:
    """A TXT record for a key name, or why there is none."""

    record: bytes | None
    problem: str | None = None
    source: str = "dns"


class KeyLookup(Protocol):
    def __call__(self, name: str) -> KeyAnswer: ...


TxtResolver = Callable[[str, float], Sequence[bytes]]
"""(name, timeout seconds) → TXT strings of the first record; raises dnspython's exceptions."""


def dnspython_txt(name: str, timeout: float) -> Sequence[bytes]:
    answer = dns.resolver.resolve(name, "TXT", lifetime=timeout, search=False)
    for record in answer:
        return [b"".join(record.strings)]
    return []


def normalise_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


@dataclass
class DnsKeys:
    """Keys from DNS. ``resolver`` is the seam for tests (simulate NXDOMAIN, timeouts)."""

    timeout: float = 3.0
    resolver: TxtResolver = dnspython_txt
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, KeyAnswer]] = field(default_factory=dict, repr=False)

    def __call__(self, name: str) -> KeyAnswer:
        key = normalise_name(name)
        cached = self._cache.get(key)
        if cached is not None and self.clock() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        answer = self._ask(key)
        self._cache[key] = (self.clock(), answer)
        return answer

    def _ask(self, name: str) -> KeyAnswer:
        try:
            strings = self.resolver(name, self.timeout)
        except dns.resolver.NXDOMAIN:
            return KeyAnswer(None, f"no DNS name {name} (NXDOMAIN)")
        except dns.resolver.NoAnswer:
            return KeyAnswer(None, f"no TXT record at {name}")
        except dns.exception.Timeout:
            return KeyAnswer(None, f"DNS did not answer for {name} within {self.timeout:g} s")
        except dns.exception.DNSException as error:
            return KeyAnswer(None, f"DNS lookup of {name} failed: {error.__class__.__name__}")
        if not strings:
            return KeyAnswer(None, f"no TXT record at {name}")
        return KeyAnswer(b"".join(strings))


@dataclass(frozen=True)
class PinnedKeys:
    """Keys from a file; a name not in the file has no key (DNS is not asked)."""

    records: dict[str, bytes]
    path: str = "pinned keys"

    def __call__(self, name: str) -> KeyAnswer:
        record = self.records.get(normalise_name(name))
        if record is None:
            return KeyAnswer(None, f"no pinned key for {normalise_name(name)} in {self.path}", "pinned")
        return KeyAnswer(record, source="pinned")


def parse_keys_file(text: str, path: str = "keys file") -> PinnedKeys:
    records: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split(None, 1)
        if len(parts) != 2 or "._domainkey." not in parts[0].lower():
            raise ConfigError(f"{path}:{number}: expected 'SELECTOR._domainkey.DOMAIN  TXT-RECORD-TEXT'")
        value = parts[1].strip()
        if value.startswith('"'):
            value = "".join(_QUOTED.findall(value))
        records[normalise_name(parts[0])] = value.encode("ascii", errors="replace")
    return PinnedKeys(records, path)


def key_lookup_for(config: DkimConfig) -> KeyLookup:
    """The pinned file when configured, DNS otherwise."""
    if config.keys_file is None:
        return DnsKeys(timeout=config.dns_timeout_seconds)
    try:
        text = Path(config.keys_file).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"[dkim] keys_file {config.keys_file}: {error.strerror or error}") from error
    return parse_keys_file(text, str(config.keys_file))
