"""What the leaked key did: CloudTrail LookupEvents by access key id, in every region read."""

from __future__ import annotations

from collections import Counter

from noticedesk.aws.checks import Check, Context, Gathered
from noticedesk.aws.findings import Finding, mask_key
from noticedesk.aws.gather import GatherError
from noticedesk.aws.gather.cloudtrail import KeyActivity, Trail


def judge_key_activity(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings = []
    for key_id in context.facts.access_key_ids:
        calls = errors = 0
        ips: Counter[str] = Counter()
        names: Counter[str] = Counter()
        regions: dict[str, int] = {}
        highlights: list[dict[str, object]] = []
        unread: list[GatherError] = []
        truncated = False
        for region, trail in gathered.per_region("trail"):
            if isinstance(trail, GatherError):
                unread.append(trail)
                continue
            assert isinstance(trail, Trail)
            activity = next(
                (item for item in trail.keys if item.access_key_id == key_id), KeyActivity(key_id)
            )
            if activity.calls:
                regions[region] = activity.calls
            calls += activity.calls
            errors += activity.errors
            ips.update(activity.source_ips)
            names.update(activity.event_names)
            highlights += [{**item, "region": region} for item in activity.highlights]
            truncated = truncated or activity.truncated
        masked = mask_key(key_id)
        if calls == 0 and unread:
            findings.append(check.error(gathered, None, "access-key", masked, unread[0]))
            continue
        summary = {
            "access_key_id": key_id,
            "calls": calls,
            "error_rate": round(errors / calls, 3) if calls else 0.0,
            "source_ips": dict(ips.most_common(20)),
            "regions": regions,
            "top_events": dict(names.most_common(10)),
            "highlights": [{**item, "at": str(item.get("at"))} for item in highlights[:50]],
            "truncated": truncated,
            "regions_not_read": [error.region for error in unread],
        }
        if calls == 0:
            findings.append(
                check.passed(
                    gathered,
                    None,
                    "access-key",
                    masked,
                    f"{masked}: no CloudTrail events in {len(gathered.regions)} region(s), "
                    f"last {context.settings.lookback_days} days",
                    **summary,
                )
            )
            continue
        marked = sorted({str(item["event"]) for item in highlights})
        text = (
            f"{masked} made {calls} call(s) from {len(ips)} IP(s) in {len(regions)} region(s), "
            f"{summary['error_rate']:.0%} errors"
            + (f"; notable: {', '.join(marked)}" if marked else "")
            + (f"; regions not read: {', '.join(str(e.region) for e in unread)}" if unread else "")
        )
        findings.append(
            check.fail(
                gathered,
                None,
                "access-key",
                masked,
                text,
                "critical" if marked else check.severity,
                **summary,
            )
        )
    return findings


CHECKS = (
    Check(
        "key-activity",
        "CloudTrail activity of the leaked access key",
        "high",
        "Shows what an intruder did with the key: instances, users, keys, bucket policies.",
        "Undo every change the key made (see highlights); the events list the source IPs to block.",
        ("cloudtrail:LookupEvents",),
        ("trail",),
        judge_key_activity,
        frozenset({"account-compromised", "ses-vulnerable-site", "ses-review"}),
        "access_key_ids",
    ),
)
