"""The values that classification produces and the rest of NoticeDesk consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    ACCOUNT_COMPROMISED = "account-compromised"
    ABUSE_REPORT = "abuse-report"
    SES_VULNERABLE_SITE = "ses-vulnerable-site"
    SES_BOUNCE = "ses-bounce"
    SES_COMPLAINT = "ses-complaint"
    SES_REVIEW = "ses-review"
    ACCOUNT_HOLD = "account-hold"
    AWS_OTHER = "aws-other"
    NOT_AWS = "not-aws"

    @property
    def opens_case(self) -> bool:
        return self not in (Kind.AWS_OTHER, Kind.NOT_AWS)


class Stage(StrEnum):
    NOTICE = "notice"
    REMINDER = "reminder"
    FINAL = "final"
    PAUSED = "paused"
    """SES sending paused (older notices: "suspended"). "Probation" is the review's older name: ``NOTICE``."""
    APPEAL_REFUSED = "appeal-refused"
    """AWS refused to lift an enforcement (an SES pause) after an appeal."""
    RESOLVED = "resolved"
    REPLY = "reply"
    EARLY_WARNING = "early-warning"  # raised by NoticeDesk's own SES alarms, before AWS acts


class Authenticity(StrEnum):
    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    SUSPICIOUS = "suspicious"
    FAILED = "failed"


ABUSE_TYPES = (
    "spam",
    "port-scan",
    "dos",
    "intrusion",
    "prohibited-content",
    "malware",
    "open-proxy",
    "phishing",
    "copyright",
    "other",
)


@dataclass(frozen=True)
class Facts:
    """What a notice names. Every field is optional; masked values are never facts."""

    account_id: str | None = None
    case_ref: str | None = None
    access_key_ids: tuple[str, ...] = ()
    iam_users: tuple[str, ...] = ()
    exposed_urls: tuple[str, ...] = ()
    instance_ids: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    regions: tuple[str, ...] = ()
    abuse_types: tuple[str, ...] = ()
    abuse_time: datetime | None = None
    bounce_rate: float | None = None
    complaint_rate: float | None = None
    reply_by: datetime | None = None
    mitigations: tuple[str, ...] = ()
    aws_cross_check: str | None = None
    """What AWS's own APIs said about the notice (``noticedesk case verify``), or why not checked."""

    def to_json(self) -> dict[str, Any]:
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in self.json_fields().items()
        }

    def json_fields(self) -> dict[str, Any]:
        """``to_json`` with its arrays left as the tuples they are: ``json.dumps`` writes the same text.

        Triage serializes each notice's facts with this and keeps them with a new case: no list
        made per array (garbage-collected containers, nine a notice, kept for its batch). Spelled
        out rather than a loop over the fields (not dataclasses.asdict either: it deep-copies).
        Keys in field order (the stored JSON text depends on it); a test holds them to the fields.
        """
        return {
            "account_id": self.account_id,
            "case_ref": self.case_ref,
            "access_key_ids": self.access_key_ids,
            "iam_users": self.iam_users,
            "exposed_urls": self.exposed_urls,
            "instance_ids": self.instance_ids,
            "ip_addresses": self.ip_addresses,
            "ports": self.ports,
            "regions": self.regions,
            "abuse_types": self.abuse_types,
            "abuse_time": self.abuse_time.isoformat() if self.abuse_time else None,
            "bounce_rate": self.bounce_rate,
            "complaint_rate": self.complaint_rate,
            "reply_by": self.reply_by.isoformat() if self.reply_by else None,
            "mitigations": self.mitigations,
            "aws_cross_check": self.aws_cross_check,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Facts:
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in cls.__dataclass_fields__:
                continue
            if isinstance(value, list):
                value = tuple(value)
            elif name in ("abuse_time", "reply_by") and value:
                value = datetime.fromisoformat(value)
            values[name] = value
        return cls(**values)

    def merged_with(self, newer: Facts) -> Facts:
        """A case's facts after a follow-up: lists are unioned, newer single values win."""
        values: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            old, new = getattr(self, name), getattr(newer, name)
            if isinstance(old, tuple):
                values[name] = tuple(dict.fromkeys((*old, *new)))
            else:
                values[name] = new if new is not None else old
        # "other" means "no type named": a follow-up that names none adds nothing.
        named = tuple(kind for kind in values["abuse_types"] if kind != "other")
        values["abuse_types"] = named or values["abuse_types"]
        return Facts(**values)


Cue = tuple[str, int, str]
"""A cue that fired: its id in the rule table, its weight, the texts it read ("subject+body")."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One choice the classifier made (a kind, a stage, an abuse type), its score and its cues."""

    value: str
    score: int
    cues: tuple[Cue, ...]
    others: tuple[tuple[str, int], ...] = ()
    """The other candidates that scored, best first (value, score)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "score": self.score,
            "cues": [{"id": cue_id, "weight": weight, "in": where} for cue_id, weight, where in self.cues],
            "others": [{"value": value, "score": score} for value, score in self.others],
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a notice was read as it was (``triage --explain``)."""

    kind: Decision
    stage: Decision
    abuse_types: tuple[Decision, ...] = ()
    abuse_lines: bool = False
    """The abuse types were read from the lines that name the activity, not the whole text."""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.to_json(),
            "stage": self.stage.to_json(),
            "abuse_types": [decision.to_json() for decision in self.abuse_types],
            "abuse_lines": self.abuse_lines,
        }


@dataclass(frozen=True)
class Notice:
    """One AWS message, understood: the output of classification."""

    kind: Kind
    stage: Stage
    facts: Facts
    rule_id: str | None
    authenticity: Authenticity = Authenticity.UNVERIFIED
    authenticity_reasons: tuple[str, ...] = ()
    authenticity_reasons_ja: tuple[str, ...] = ()
    title: str = ""
    received_at: datetime | None = None
    message_id: str | None = None
    thread_ids: tuple[str, ...] = field(default=())
    """Message-IDs this notice replies to (In-Reply-To, References): used to join a thread."""
    evidence: Evidence | None = field(default=None, repr=False, compare=False)
    """The cues that decided kind, stage and abuse types (classified mails; None otherwise)."""
