"""What a reply may state as fact, chosen from the case: the root cause, what CloudTrail showed,
and the prevention measures the case shows in place. Pure functions of a ``ReplyContext``.

A reply to AWS is read by an engineer who checks it against the account: each sentence here comes
from a fact of the notice, a finding of the latest diagnosis, a standing action or a ticked step.
"""

from __future__ import annotations

from dataclasses import dataclass

from noticedesk.replies.gather import FindingRow, ReplyContext
from noticedesk.replies.phrasebook import mask_keys, prevention_table, word

CAUSE_CHECKS = {
    "abuse-report": ("security-groups", "instances"),
    "ses-bounce": ("ses-feedback", "ses-suppression", "ses-reputation"),
    "ses-complaint": ("ses-feedback", "ses-suppression", "ses-reputation"),
    "ses-review": ("ses-feedback", "ses-suppression", "ses-reputation"),
    "ses-vulnerable-site": ("ses-feedback",),
}
"""Checks whose failures explain how a kind of notice came about (the others are context)."""


@dataclass(frozen=True)
class Measure:
    text: str
    in_place: bool


def root_cause(context: ReplyContext) -> list[str]:
    """One or two sentences on how it happened; empty when the case does not know yet."""
    facts, kind = context.facts, context.case.kind
    sentences: list[str] = []
    if kind == "account-compromised" and facts.access_key_ids and facts.exposed_urls:
        owner = f" of IAM user {', '.join(facts.iam_users)}" if facts.iam_users else ""
        keys = ", ".join(facts.access_key_ids)
        sentences.append(
            f"The access key {keys}{owner} was published at {', '.join(facts.exposed_urls)}, "
            "where a third party could copy it together with its secret key."
        )
    if kind == "abuse-report" and (facts.instance_ids or facts.ip_addresses):
        what = word("abuse_type", facts.abuse_types[0], "en") if facts.abuse_types else "activity"
        source = ", ".join(f"instance {i}" for i in facts.instance_ids) or "our resource"
        ip = f" (IP address {', '.join(facts.ip_addresses)})" if facts.ip_addresses else ""
        where = f" in {', '.join(facts.regions)}" if facts.regions else ""
        sentences.append(f"The reported {what} came from {source}{ip}{where}.")
    named = {*facts.instance_ids, *facts.ip_addresses}
    for row in context.failed_findings:
        if row.check not in CAUSE_CHECKS.get(kind, ()):
            continue
        if kind == "abuse-report" and not any(name in f"{row.detail} {row.resource_id}" for name in named):
            continue  # only what concerns the reported resource
        sentences.append(f"Our investigation found that {_clause(row)}.")
    return sentences


def cloudtrail(context: ReplyContext) -> list[str]:
    """What CloudTrail showed about the exposed key (the ``key-activity`` check), in sentences."""
    lines: list[str] = []
    for row in context.findings:
        if row.check != "key-activity" or row.status not in ("pass", "fail"):
            continue
        data = row.data
        key = str(data.get("access_key_id") or row.resource_id or "the key")
        if row.status == "pass":
            lines.append(f"CloudTrail shows no call made with {key} in the period we searched.")
            continue
        ips = list(dict(data.get("source_ips") or {}))
        regions = list(dict(data.get("regions") or {}))
        events = list(dict(data.get("top_events") or {}))
        sentence = f"CloudTrail shows {data.get('calls', 'some')} call(s) made with {key}"
        if ips:
            sentence += f" from {', '.join(ips[:5])}"
        if regions:
            sentence += f" in {', '.join(regions)}"
        if events:
            sentence += f"; the calls were {', '.join(events[:8])}"
        lines.append(sentence + ".")
    return lines


BILLING_STEP = "check-billing"


def billing(context: ReplyContext) -> list[str]:
    """That the bill was reviewed, when the runbook's billing step is ticked (what it showed is the
    person's to add: NoticeDesk does not read billing)."""
    if any(item.key == BILLING_STEP and item.done_at for item in context.checklist):
        return ["We reviewed the charges of the account by service and region in Billing and Cost Explorer."]
    return []


def measures(context: ReplyContext) -> list[Measure]:
    """The standard prevention measures for the case's kind (and abuse types), each with whether
    the case shows it in place; a measure text appears once."""
    table = prevention_table().get(context.case.kind, {})
    entries = list(table.get("measure", []))
    for abuse_type in context.facts.abuse_types:
        entries += table.get("types", {}).get(abuse_type, {}).get("measure", [])
    shown: dict[str, bool] = {}
    for entry in entries:
        text = str(entry["en"])
        shown[text] = shown.get(text, False) or _in_place(context, entry)
    return [Measure(text, in_place) for text, in_place in shown.items()]


def _in_place(context: ReplyContext, entry: dict[str, str]) -> bool:
    if "action" in entry and any(r.action == entry["action"] for r in context.effective_actions):
        return True
    if "step" in entry and any(i.key == entry["step"] and i.done_at for i in context.checklist):
        return True
    if "check" in entry:
        rows = [row for row in context.findings if row.check == entry["check"]]
        return bool(rows) and all(row.status == "pass" for row in rows)
    return False


def _clause(row: FindingRow) -> str:
    sentence = mask_keys(row.detail.strip().rstrip("."))
    if row.region and row.region not in sentence:
        sentence += f" ({row.region})"
    if sentence[:2].isupper():  # an acronym (AMI, SES): keep it
        return sentence
    return sentence[:1].lower() + sentence[1:]
