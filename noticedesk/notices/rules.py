"""The rule table (``data/rules.toml``) loaded once and compiled: data in, matchers out."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from noticedesk.notices.model import Kind, Stage
from noticedesk.notices.needles import Matcher, Text
from noticedesk.notices.scanner import Scanner

_FLAGS = re.IGNORECASE | re.MULTILINE


@dataclass(frozen=True)
class Rule:
    """Every pattern given must match; an absent pattern matches anything."""

    id: str
    priority: int
    subject: Matcher | None
    body: Matcher | None
    sender: Matcher | None
    note: str = ""

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


@dataclass(frozen=True)
class StageRule(Rule):
    stage: Stage = Stage.NOTICE
    kinds: frozenset[Kind] = frozenset()


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
    abuse_types: tuple[LabelPattern, ...]
    mitigations: tuple[LabelPattern, ...]
    facts: dict[str, tuple[Matcher, ...]]
    region_names: dict[Matcher, str]
    """Each region's English name ("Europe (Ireland)") as a pattern, and its code, in table order."""
    aws_domains: tuple[str, ...]
    brand_words: tuple[str, ...]
    health: tuple[HealthRule, ...]
    scanner: Scanner
    """Every pattern above in one Hyperscan database (scanner.py): give it to the ``Text``s."""

    def text(self, value: str) -> Text:
        return Text(value, self.scanner)

    def matchers(self) -> list[Matcher]:
        """Every pattern of the table."""
        found = [
            m for rule in (*self.kinds, *self.stages) for m in (rule.subject, rule.body, rule.sender) if m
        ]
        found += [entry.pattern for entry in (*self.abuse_types, *self.mitigations)]
        found += list(self.region_names)
        return found + [matcher for matchers in self.facts.values() for matcher in matchers]


def _compile(pattern: str | None) -> Matcher | None:
    return Matcher.compile(pattern, _FLAGS) if pattern else None


def _rule_fields(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": entry["id"],
        "priority": int(entry["priority"]),
        "subject": _compile(entry.get("subject")),
        "body": _compile(entry.get("body")),
        "sender": _compile(entry.get("sender")),
        "note": entry.get("note", ""),
    }


def parse_rule_table(data: dict[str, Any], scan: bool = True) -> RuleTable:
    """The table compiled; ``scan=False`` leaves every pattern to ``re`` (tests compare the two)."""
    kinds = tuple(
        sorted(
            (KindRule(**_rule_fields(entry), kind=Kind(entry["kind"])) for entry in data["kind"]),
            key=lambda rule: rule.priority,
        )
    )
    stages = tuple(
        sorted(
            (
                StageRule(
                    **_rule_fields(entry),
                    stage=Stage(entry["stage"]),
                    kinds=frozenset(Kind(kind) for kind in entry.get("kinds", ())),
                )
                for entry in data["stage"]
            ),
            key=lambda rule: rule.priority,
        )
    )
    table = RuleTable(
        kinds=kinds,
        stages=stages,
        abuse_types=tuple(
            LabelPattern(e["type"], Matcher.compile(e["pattern"], _FLAGS)) for e in data["abuse_type"]
        ),
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
        health=tuple(HealthRule(e["prefix"], Kind(e["kind"]), e.get("abuse_type")) for e in data["health"]),
        scanner=Scanner((), enabled=False),
    )
    return replace(table, scanner=Scanner(table.matchers(), enabled=scan))


@cache
def rule_table(scan: bool = True) -> RuleTable:
    text = resources.files("noticedesk.notices").joinpath("data/rules.toml").read_text("utf-8")
    return parse_rule_table(tomllib.loads(text), scan)
