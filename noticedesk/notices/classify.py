"""A parsed mail to a ``Notice``: kind, stage and facts from the rule table. Pure.

Classification weighs evidence: every cue of the table (rules.toml) that fires adds its weight to
its kind (or stage); the best score at or above the table's threshold wins, ties to the kind
listed first. Below it, a mail is ``aws-other`` when it comes from AWS and ``not-aws`` otherwise.
The cues that decided are kept with the notice (``triage --explain``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from noticedesk.mail.parse import ParsedMail
from noticedesk.notices.extract import extract_facts_with_evidence, flat_text
from noticedesk.notices.model import Cue, Decision, Evidence, Facts, Kind, Notice, Stage
from noticedesk.notices.needles import Text
from noticedesk.notices.rules import Rule, RuleTable, rule_table
from noticedesk.notices.senders import is_aws_domain

_BODY_CHARS = 60_000
_WORDS = re.compile(r"[a-z0-9]+")


Scored = list[tuple[str, int, list[Cue]]]


def _scores(table: RuleTable, rules: tuple[Rule, ...], texts: tuple[Text, Text, Text]) -> Scored:
    """Each value's score and its cues, values in the order their first cue fired (table order).

    ``Rule.matches`` for each rule, with the scanner's answers read once per text. When every text
    was scanned, only the cues one of whose patterns the scanner saw match are looked at (a
    notice matches a handful of some forty cues); otherwise each cue is asked in turn.
    """
    answers = (texts[0].answers(), texts[1].answers(), texts[2].answers())
    if answers[0] is None or answers[1] is None or answers[2] is None:
        fired = [rule for rule in rules if _fires(rule, texts, answers)]
    else:
        index = _index(table, rules)
        seen = dict(index.always)
        for role in (0, 1, 2):
            for key in answers[role][0] & index.keys[role]:  # type: ignore[index]
                for position, rule in index.by_pattern[key]:
                    seen[position] = rule
        proven = index.proven
        fired = [
            rule
            for position, rule in sorted(seen.items())
            if position in proven or _fires(rule, texts, answers)
        ]
    totals: dict[str, tuple[int, list[Cue]]] = {}
    for rule in fired:
        score, cues = totals.get(rule.result, (0, []))
        cues.append(rule.cue)
        totals[rule.result] = (score + rule.weight, cues)
    return [(value, score, cues) for value, (score, cues) in totals.items()]


Answers = tuple[frozenset[int], frozenset[int], set[int]] | None


def _fires(rule: Rule, texts: tuple[Text, Text, Text], answers: tuple[Answers, Answers, Answers]) -> bool:
    for role, pattern in rule.parts:
        known, key = answers[role], id(pattern)
        if known is not None and key in known[1]:
            if key not in known[0]:
                return False  # the scanner rules it out
            if key in known[2]:
                continue  # the scanner proves it
        if not pattern.found(texts[role]):
            return False
    return True


@dataclass(frozen=True)
class _Index:
    """The cues of a tuple of rules by the patterns the scanner answers for."""

    keys: tuple[frozenset[int], frozenset[int], frozenset[int]]
    """Per text (subject, body, sender): the ids of the cues' patterns the scanner answers for."""
    by_pattern: dict[int, list[tuple[int, Rule]]]
    """Pattern id -> the cues (with their place in the tuple) that have it."""
    always: dict[int, Rule]
    """Cues with no pattern the scanner answers for: always asked."""
    proven: frozenset[int]
    """Places of the cues that fire whenever the scanner saw their one pattern match."""


_INDEXES: dict[tuple[int, int], tuple[RuleTable, tuple[Rule, ...], _Index]] = {}


def _index(table: RuleTable, rules: tuple[Rule, ...]) -> _Index:
    """Made once per tuple of rules (the table's own tuples live as long as the table)."""
    known = _INDEXES.get((id(table), id(rules)))
    if known is not None and known[0] is table and known[1] is rules:
        return known[2]
    scanners = (table.scanners["subject"], table.scanners["body"], table.scanners["sender"])
    covered = [scanner.covered for scanner in scanners]
    keys: list[set[int]] = [set(), set(), set()]
    by_pattern: dict[int, list[tuple[int, Rule]]] = {}
    always: dict[int, Rule] = {}
    proven: set[int] = set()
    for position, rule in enumerate(rules):
        parts = [(role, id(pattern)) for role, pattern in rule.parts if id(pattern) in covered[role]]
        if not parts:
            always[position] = rule
        for role, key in parts:
            keys[role].add(key)
            by_pattern.setdefault(key, []).append((position, rule))
        if len(rule.parts) == 1 and len(parts) == 1 and parts[0][1] in scanners[parts[0][0]].exact:
            proven.add(position)
    index = _Index(
        (frozenset(keys[0]), frozenset(keys[1]), frozenset(keys[2])), by_pattern, always, frozenset(proven)
    )
    _INDEXES[(id(table), id(rules))] = (table, rules, index)
    return index


def _decide(scored: Scored, threshold: int, fallback: str) -> Decision:
    best: tuple[str, int, list[Cue]] | None = None
    for entry in scored:  # strictly better only: a tie goes to the value listed first
        if entry[1] >= threshold and (best is None or entry[1] > best[1]):
            best = entry
    others = tuple(
        sorted(
            ((value, score) for value, score, _ in scored if best is None or value != best[0]),
            key=lambda pair: -pair[1],
        )
    )
    if best is None:
        return Decision(fallback, 0, (), others)
    return Decision(best[0], best[1], tuple(sorted(best[2], key=lambda cue: -cue[1])), others)


def _kind(table: RuleTable, texts: tuple[Text, Text, Text], from_aws: bool) -> Decision:
    fallback = Kind.AWS_OTHER if from_aws else Kind.NOT_AWS
    scored = _scores(table, table.kinds, texts)
    return _decide(scored, table.thresholds.kind, fallback.value)


def _stage(table: RuleTable, kind: Kind, texts: tuple[Text, Text, Text]) -> Decision:
    if not kind.opens_case:
        return Decision(Stage.NOTICE.value, 0, ())
    scored = _scores(table, table.stages_by_kind[kind], texts)
    return _decide(scored, table.thresholds.stage, Stage.NOTICE.value)


def classify(mail: ParsedMail, table: RuleTable | None = None, extra_domains: tuple[str, ...] = ()) -> Notice:
    """What this mail is. ``mail`` is the AWS original (a forward already unwrapped).

    A notice with no subject, or only "RE:"/"Fwd:", is read from its body: the subject cues
    simply do not fire. The reply cue reads the subject as written (a leading "RE:").
    """
    table = table or rule_table()
    body = mail.text[:_BODY_CHARS]
    # Plain-text notices are wrapped at ~76 columns: rules match the text with its line breaks
    # collapsed, so "bounce rate\nis 12%" matches 'bounce rate is'.
    flat, subject = flat_text(table, body), table.text(mail.subject, "subject")
    sender = table.text(mail.from_address.lower(), "sender")
    from_aws = is_aws_domain(mail.from_domain, table, extra_domains)
    texts = (subject, flat, sender)
    kind_decision = _kind(table, texts, from_aws)
    if not from_aws and kind_decision.value != Kind.NOT_AWS and not _speaks_as_aws(mail, table, flat):
        # A third party writing about AWS (a scanner's leaked-key alert, a newsletter): not a
        # notice. Mail that poses as AWS keeps its kind: authenticity calls it suspicious.
        others = ((kind_decision.value, kind_decision.score), *kind_decision.others)
        kind_decision = Decision(Kind.NOT_AWS.value, 0, (_THIRD_PARTY,), others)
    kind = Kind(kind_decision.value)
    stage_decision = _stage(table, kind, texts)
    facts, abuse, abuse_lines = extract_facts_with_evidence(
        table, mail.subject, body, flat, abuse=kind is Kind.ABUSE_REPORT
    )
    facts = _facts_for_kind(kind, Stage(stage_decision.value), facts)
    evidence = Evidence(
        kind_decision, stage_decision, abuse if kind is Kind.ABUSE_REPORT else (), abuse_lines
    )
    return Notice(
        kind=kind,
        stage=Stage(stage_decision.value),
        facts=facts,
        rule_id=kind_decision.cues[0][0] if kind_decision.cues else None,
        title=mail.subject,
        received_at=mail.date,
        message_id=mail.message_id,
        thread_ids=mail.thread_ids,
        evidence=evidence,
    )


def _speaks_as_aws(mail: ParsedMail, table: RuleTable, body: Text) -> bool:
    """Whether a mail from outside AWS presents itself as AWS: a forward (its original could not
    be told apart), a sender name or domain that names AWS (a look-alike), or AWS's own voice."""
    if mail.forwarded_by:
        return True
    names = set(_WORDS.findall(f"{mail.from_name} {mail.from_domain}".lower()))
    if names.intersection(table.brand_words):
        return True
    return table.speaks_as_aws.found(body)


_THIRD_PARTY: Cue = ("third-party-sender", 0, "sender")


def _facts_for_kind(kind: Kind, stage: Stage, facts: Facts) -> Facts:
    """Abuse types belong to abuse reports; a first report names at least one ("other"). A
    follow-up that names none adds none: its case already has the type."""
    if kind is Kind.ABUSE_REPORT:
        if facts.abuse_types or stage is not Stage.NOTICE:
            return facts
        return replace(facts, abuse_types=("other",))
    return replace(facts, abuse_types=()) if facts.abuse_types else facts  # replace() costs ~9 µs
