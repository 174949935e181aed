"""What every watched source gives the watcher: arrivals to file, then word that they were filed.

A source hands out ``Arrival`` values (the raw input and what the source needs to mark it
done); the watcher files them in one transaction and only then calls ``filed``: a mail is moved,
flagged or deleted from its queue after its case is committed, never before.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from noticedesk.mail.readers import RawItem


class Arrival(NamedTuple):
    item: RawItem
    token: object
    """The source's own handle on it: an IMAP UID, a file path, an SQS receipt handle."""


class Source(Protocol):
    name: str
    """How the source is named in logs (no secret in it)."""

    def take(self, limit: int) -> list[Arrival]:
        """Up to ``limit`` inputs not filed yet, oldest first (an empty list: nothing waiting)."""
        ...

    def filed(self, arrivals: list[Arrival]) -> None:
        """These were committed to the store: mark them done at the source."""
        ...

    def close(self) -> None: ...
