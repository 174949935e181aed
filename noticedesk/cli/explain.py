"""``noticedesk triage --explain``: the cues that decided a notice's kind, stage and abuse types."""

from __future__ import annotations

from noticedesk.notices.model import Decision
from noticedesk.notices.rules import rule_table
from noticedesk.triage import TriageResult


def explanation(result: TriageResult) -> list[str]:
    """Lines that say why the notice reads as it does: each decision, its score, its cues."""
    where = result.source if result.index is None else f"{result.source} [message {result.index}]"
    notice = result.notice
    if notice is None:
        return [where, f"  not read: {result.error}"]
    lines = [where, f"  subject: {notice.title or '(none)'}"]
    if result.forwarded_by:
        lines.append(f"  forwarded by {result.forwarded_by}: the original inside was read")
    evidence = notice.evidence
    if evidence is None:  # an AWS Health event: its event type code decides
        lines.append(
            f"  kind   {notice.kind.value}, stage {notice.stage.value}: from the Health event type code"
        )
        return lines
    thresholds = rule_table().thresholds
    lines += _decision("kind", evidence.kind, thresholds.kind)
    lines += _decision("stage", evidence.stage, thresholds.stage)
    if evidence.abuse_types:
        read_from = "the lines that name the activity" if evidence.abuse_lines else "subject and body"
        lines.append(f"  abuse types (each needs {thresholds.abuse_type}; read from {read_from}):")
        for decision in evidence.abuse_types:
            lines += _decision("  type", decision, thresholds.abuse_type, header=False)
    elif notice.facts.abuse_types:
        lines.append(f"  abuse types: {', '.join(notice.facts.abuse_types)} (no cue named one)")
    lines.append(f"  authenticity: {notice.authenticity.value}")
    return lines


_RULES = {
    "third-party-sender": "sent from outside AWS by a sender that neither names AWS nor speaks as AWS",
}


def _decision(name: str, decision: Decision, threshold: int, header: bool = True) -> list[str]:
    if decision.cues and decision.score:
        head = f"  {name:<6} {decision.value}  (score {decision.score}, needs {threshold})"
    elif decision.cues:  # decided by a rule, not a score (a third party writing about AWS)
        cue_id = decision.cues[0][0]
        head = f"  {name:<6} {decision.value}  ({_RULES.get(cue_id, cue_id)})"
    else:
        head = f"  {name:<6} {decision.value}  (no candidate reached {threshold})"
    if not header:
        head = f"  {name:<6} {decision.value}  (score {decision.score})"
    lines = [head]
    lines += [
        f"           {weight:+d}  {cue_id:<34} {place}" for cue_id, weight, place in decision.cues if weight
    ]
    if decision.others:
        others = ", ".join(f"{value} {score}" for value, score in decision.others)
        lines.append(f"           others: {others}")
    return lines
