"""The rule table (``data/rules.toml``) loaded once and compiled: data in, matchers out."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any, Literal, get_args

from noticedesk.notices.model import Kind, Stage
from noticedesk.notices.needles import Matcher, Text
from noticedesk.notices.scanner import Scanner

_FLAGS = re.IGNORECASE | re.MULTILINE

TextRole = Literal["subject", "sender", "body", "subject+body", "lines", "context"]
"""How a notice's text is read: its subject, its From domain, its body flattened (line breaks as
spaces), the same with the subject in front, its body as written (values that run to the end of a
line), and the lines that name the abuse (abuse types are read there first)."""
TEXT_ROLES: tuple[TextRole, ...] = get_args(TextRole)
FACT_TEXTS: dict[str, TextRole] = {
    "account_id": "subject+body",
    "case_ref": "subject+body",
    "access_key_ids": "subject+body",
    "instance_ids": "subject+body",
    "bounce_rate": "subject+body",
    "complaint_rate": "subject+body",
    "iam_users": "body",
    "exposed_urls": "body",
    "ports": "body",
    "reply_by": "body",
    "within_hours": "body",
    "ip_addresses": "lines",
    "abuse_time": "lines",
    "abuse_context": "context",
}
"""Which text each fact is read from (extract.py)."""


Cue = tuple[str, int, str]
"""One cue that fired, as evidence: its id, its weight, the texts it read ("subject+body")."""


@dataclass(frozen=True)
class Rule:
    """A cue: when every pattern given matches (an absent one matches anything), ``weight`` counts
    for its kind or stage. Negative weights count against it."""

    id: str
    weight: int
    subject: Matcher | None
    body: Matcher | None
    sender: Matcher | None
    note: str = ""
    cue: Cue = field(init=False, repr=False, compare=False, default=("", 0, ""))
    """The evidence this rule gives when it fires (made once: a notice only refers to it)."""
    result: str = field(init=False, repr=False, compare=False, default="")
    """The value its weight counts for (a kind's or a stage's)."""
    parts: tuple[tuple[int, Matcher], ...] = field(init=False, repr=False, compare=False, default=())
    """Its patterns with the text each reads: 0 subject, 1 body, 2 sender (classify.py's order)."""

    def __post_init__(self) -> None:
        parts = (("subject", self.subject), ("body", self.body), ("sender", self.sender))
        where = "+".join(name for name, pattern in parts if pattern)
        object.__setattr__(self, "cue", (self.id, self.weight, where))
        numbered = tuple((index, pattern) for index, (_, pattern) in enumerate(parts) if pattern)
        object.__setattr__(self, "parts", numbered)

    def matches(self, subject: str | Text, body: str | Text, sender_domain: str | Text) -> bool:
        return (
            (self.subject is None or self.subject.found(subject))
            and (self.body is None or self.body.found(body))
            and (self.sender is None or self.sender.found(sender_domain))
        )

    def describe(self) -> str:
        parts = [
            f"{name}~/{pattern.pattern}/"
            for name, pattern in (
                ("subject", self.subject),
                ("body", self.body),
                ("sender", self.sender),
            )
            if pattern
        ]
        return " and ".join(parts)


@dataclass(frozen=True)
class KindRule(Rule):
    kind: Kind = Kind.AWS_OTHER

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "result", self.kind.value)


@dataclass(frozen=True)
class StageRule(Rule):
    stage: Stage = Stage.NOTICE
    kinds: frozenset[Kind] = frozenset()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "result", self.stage.value)


@dataclass(frozen=True)
class AbuseCue:
    """A cue for one abuse type, read from the lines that name the abuse (else subject and body)."""

    id: str
    label: str
    weight: int
    pattern: Matcher

    @property
    def cue(self) -> Cue:
        return (self.id, self.weight, "text")


@dataclass(frozen=True)
class Thresholds:
    """The score a kind, a stage or an abuse type needs to be chosen (``[scoring]``)."""

    kind: int
    stage: int
    abuse_type: int


@dataclass(frozen=True)
class LabelPattern:
    label: str
    pattern: Matcher


@dataclass(frozen=True)
class HealthRule:
    prefix: str
    kind: Kind
    abuse_type: str | None


@dataclass(frozen=True)
class RuleTable:
    kinds: tuple[KindRule, ...]
    stages: tuple[StageRule, ...]
    abuse_types: tuple[AbuseCue, ...]
    thresholds: Thresholds
    stages_by_kind: dict[Kind, tuple[StageRule, ...]]
    """The stage cues that may fire for each kind, in table order."""
    mitigations: tuple[LabelPattern, ...]
    facts: dict[str, tuple[Matcher, ...]]
    region_names: dict[Matcher, str]
    """Each region's English name ("Europe (Ireland)") as a pattern, and its code, in table order."""
    aws_domains: tuple[str, ...]
    brand_words: tuple[str, ...]
    speaks_as_aws: Matcher
    """AWS's own voice in a body (greetings, signatures): a mail from elsewhere using it poses as AWS."""
    health: tuple[HealthRule, ...]
    scanners: dict[TextRole, Scanner]
    """For each text a notice is read as, its patterns in one Hyperscan database (scanner.py)."""

    def text(self, value: str, role: TextRole) -> Text:
        """``value`` as read in ``role``: the patterns asked of such a text are scanned in one pass."""
        return Text(value, self.scanners[role])

    def matchers(self, role: TextRole | None = None) -> list[Matcher]:
        """The patterns asked of a text of this role (every pattern of the table: ``None``)."""
        rules = (*self.kinds, *self.stages)
        found: list[Matcher] = []
        if role in (None, "subject"):
            found += [rule.subject for rule in rules if rule.subject]
        if role in (None, "sender"):
            found += [rule.sender for rule in rules if rule.sender]
        if role in (None, "body"):
            found += [rule.body for rule in rules if rule.body]
            found += [entry.pattern for entry in self.mitigations] + list(self.region_names)
        if role in (None, "subject+body", "context"):
            found += [entry.pattern for entry in self.abuse_types]
        for name, matchers in self.facts.items():
            if role is None or FACT_TEXTS.get(name) == role:
                found += matchers
        return found


def _compile(pattern: str | None) -> Matcher | None:
    return Matcher.compile(pattern, _FLAGS) if pattern else None


def _rule_fields(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": entry["id"],
        "weight": int(entry["weight"]),
        "subject": _compile(entry.get("subject")),
        "body": _compile(entry.get("body")),
        "sender": _compile(entry.get("sender")),
        "note": entry.get("note", ""),
    }


def parse_rule_table(data: dict[str, Any], scan: bool = True) -> RuleTable:
    """The table compiled; ``scan=False`` leaves every pattern to ``re`` (tests compare the two).

    The Hyperscan databases are compiled when first asked (about a second for them all).
    """
    kinds = tuple(KindRule(**_rule_fields(entry), kind=Kind(entry["kind"])) for entry in data["kind"])
    stages = tuple(
        StageRule(
            **_rule_fields(entry),
            stage=Stage(entry["stage"]),
            kinds=frozenset(Kind(kind) for kind in entry.get("kinds", ())),
        )
        for entry in data["stage"]
    )
    for rules in (kinds, stages):
        ids = [rule.id for rule in rules]
        if len(set(ids)) != len(ids):
            raise ValueError(f"rule table: a cue id is used twice in {sorted(ids)}")
    numbered: dict[str, int] = {}
    abuse_cues: list[AbuseCue] = []
    for entry in data["abuse_type"]:
        numbered[entry["type"]] = numbered.get(entry["type"], 0) + 1
        cue_id = entry.get("id") or f"{entry['type']}-{numbered[entry['type']]}"
        pattern = Matcher.compile(entry["pattern"], _FLAGS)
        abuse_cues.append(AbuseCue(cue_id, entry["type"], int(entry.get("weight", 1)), pattern))
    scoring = data["scoring"]
    table = RuleTable(
        kinds=kinds,
        stages=stages,
        abuse_types=tuple(abuse_cues),
        stages_by_kind={
            kind: tuple(rule for rule in stages if not rule.kinds or kind in rule.kinds) for kind in Kind
        },
        thresholds=Thresholds(int(scoring["kind"]), int(scoring["stage"]), int(scoring["abuse_type"])),
        mitigations=tuple(
            LabelPattern(e["label"], Matcher.compile(e["pattern"], _FLAGS)) for e in data["mitigation"]
        ),
        facts={
            name: tuple(Matcher.compile(p, _FLAGS) for p in patterns)
            for name, patterns in data["facts"].items()
        },
        region_names={
            Matcher.compile(re.escape(name), _FLAGS): code for name, code in data["regions"].items()
        },
        aws_domains=tuple(data["senders"]["aws_domains"]),
        brand_words=tuple(data["senders"]["brand_words"]),
        speaks_as_aws=Matcher.compile(data["senders"]["speaks_as_aws"], _FLAGS),
        health=tuple(HealthRule(e["prefix"], Kind(e["kind"]), e.get("abuse_type")) for e in data["health"]),
        scanners={},
    )
    return replace(table, scanners={role: Scanner(table.matchers(role), enabled=scan) for role in TEXT_ROLES})


@cache
def rule_table(scan: bool = True) -> RuleTable:
    text = resources.files("noticedesk.notices").joinpath("data/rules.toml").read_text("utf-8")
    return parse_rule_table(tomllib.loads(text), scan)
