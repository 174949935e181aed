"""What a reply may state as fact, chosen from the case: what the notice named and its state now,
the root cause, what CloudTrail showed, since when an abuse stopped, and the prevention measures
the case shows in place. Pure functions of a ``ReplyContext``.

A reply to AWS is read by an engineer who checks it against the account: each sentence here comes
from a fact of the notice, a finding of the latest diagnosis, a standing action or a ticked step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from noticedesk.aws.findings import mask_key
from noticedesk.replies.gather import ActionRecord, FindingRow, ReplyContext
from noticedesk.replies.phrasebook import abuse_words, mask_keys, prevention_table, word
from noticedesk.timetext import utc

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


def named_key(record: ActionRecord, context: ReplyContext) -> ActionRecord:
    """The record with the key AWS named in full: the store keeps key ids masked, the reply to AWS
    names the key AWS named (a key id is not a secret; AWS files the case by it)."""
    for key in context.facts.access_key_ids:
        if record.resource_id == mask_key(key):
            return dataclasses.replace(record, resource_id=key)
    return record


_STATE = {
    "access-key-deactivate": "deactivated",
    "access-key-rotate": "replaced and deactivated",
    "access-key-delete": "deleted",
    "instance-isolate": "isolated from the network",
    "instance-stop": "stopped",
    "instance-terminate": "terminated",
}


def named_lines(context: ReplyContext) -> list[str]:
    """What the notice named, each with its state now (the full key id: AWS named it)."""
    facts = context.facts
    state: dict[str, str] = {}
    for record in (named_key(r, context) for r in context.effective_actions):
        if record.resource_id and record.action in _STATE:
            state[record.resource_id] = f": {_STATE[record.action]} ({utc(record.at)})"
    lines: list[str] = []
    for key in facts.access_key_ids:
        owner = f" of IAM user {', '.join(facts.iam_users)}" if facts.iam_users else ""
        lines.append(f"Access key {key}{owner}{state.get(key, '')}")
    lines += [f"Exposed at {url}" for url in facts.exposed_urls]
    lines += [f"Instance {instance}{state.get(instance, '')}" for instance in facts.instance_ids]
    if facts.ip_addresses:
        lines.append(f"IP address {', '.join(facts.ip_addresses)}")
    if facts.ports:
        lines.append(f"Port {', '.join(str(port) for port in facts.ports)}")
    if facts.abuse_types and context.case.kind == "abuse-report":
        lines.append(f"Reported activity: {abuse_words(facts.abuse_types, 'en')}")
    if facts.abuse_time:
        lines.append(f"Time of the activity: {utc(facts.abuse_time)}")
    if facts.bounce_rate is not None:
        lines.append(f"Bounce rate stated in your notice: {facts.bounce_rate}%")
    if facts.complaint_rate is not None:
        lines.append(f"Complaint rate stated in your notice: {facts.complaint_rate}%")
    if facts.regions:
        lines.append(f"Region {', '.join(facts.regions)}")
    return lines


_CONTAINS = ("instance-isolate", "instance-stop", "instance-terminate")


def stopped(context: ReplyContext) -> str | None:
    """When the reported activity stopped: the first standing action that cut off the reported
    instance (AWS's abuse team asks whether, and since when, it has stopped)."""
    if context.case.kind != "abuse-report":
        return None
    cut = [
        record
        for record in context.effective_actions
        if record.action in _CONTAINS and record.resource_id in context.facts.instance_ids
    ]
    if not cut:
        return None
    first = min(cut, key=lambda record: record.at)
    return f"instance {first.resource_id} has been {_STATE[first.action]} since {utc(first.at)}"
