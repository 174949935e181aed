"""What happened, as the notifications know it: one ``Event`` per change worth telling someone.

An event is plain data. Whoever makes the change builds one and hands it to ``outbox.enqueue``
in the same transaction; the message is rendered from its ``kind`` and ``facts`` when it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

KINDS: tuple[str, ...] = (
    "case.opened",
    "case.stage",
    "notice.suspicious",
    "finding.severe",
    "action.applied",
    "action.failed",
    "action.undone",
    "reply.sent",
    "deadline.approaching",
    "deadline.missed",
    "ses.alarm.raised",
    "ses.alarm.cleared",
    "test",
)
"""Every kind of event; ``test`` is what ``noticedesk notify test CHANNEL`` sends."""


@dataclass(frozen=True)
class Event:
    """One thing that happened, with what its message needs.

    ``dedupe_key`` names the event itself, not its delivery: enqueueing the same key twice (a
    retried batch, two watchers, a mail read again) writes nothing the second time. Build it from
    what makes the event unique, e.g. ``case-opened:42`` or ``deadline:42:reply_by:2h``.
    ``facts`` are strings: ``stage``, ``deadline`` (ISO time), ``deadline_label``, ``command``,
    ``title``, ``kind`` (the case's), ``check``, ``severity``, ``action``, ``resource``, ``error``...
    """

    kind: str
    case_id: str | None
    account_id: str | None
    dedupe_key: str
    facts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r} (one of {', '.join(KINDS)})")
        if not self.dedupe_key or len(self.dedupe_key) > 300:
            raise ValueError("an event's dedupe_key is 1 to 300 characters")
        for name, value in self.facts.items():
            if not isinstance(value, str):
                raise ValueError(f"event fact {name!r} is not a string: {value!r}")
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))
