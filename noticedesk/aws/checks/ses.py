"""SES standing per region: enforcement status, reputation rates against AWS's levels, and whether
bounces and complaints reach anyone who acts on them."""

from __future__ import annotations

from typing import Any

from noticedesk.aws.checks import Check, Context, Gathered
from noticedesk.aws.findings import Finding, Severity
from noticedesk.aws.gather import GatherError
from noticedesk.aws.gather.ses import SesStanding
from noticedesk.notices.levels import SES_LEVELS, Metric

KINDS = frozenset({"ses-vulnerable-site", "ses-bounce", "ses-complaint", "ses-review"})
SUPPRESSED = ("BOUNCE", "COMPLAINT")


def _standings(check: Check, gathered: Gathered, findings: list[Finding]) -> list[tuple[str, SesStanding]]:
    result = []
    for region, data in gathered.per_region("ses"):
        if isinstance(data, GatherError):
            findings.append(check.error(gathered, region, "ses-account", region, data))
        else:
            assert isinstance(data, SesStanding)
            result.append((region, data))
    return result


def _accounts(check: Check, gathered: Gathered, findings: list[Finding]) -> list[tuple[str, dict[str, Any]]]:
    """``GetAccount`` per region; a region that could not be read becomes an error finding."""
    result = []
    for region, standing in _standings(check, gathered, findings):
        if isinstance(standing.account, GatherError):
            findings.append(check.error(gathered, region, "ses-account", region, standing.account))
        else:
            result.append((region, standing.account))
    return result


def judge_ses_account(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    for region, account in _accounts(check, gathered, findings):
        status = str(account.get("EnforcementStatus", "?"))
        sending = bool(account.get("SendingEnabled", False))
        details = account.get("Details") or {}
        review = details.get("ReviewDetails") or {}
        data: dict[str, Any] = {
            "enforcement_status": status,
            "sending_enabled": sending,
            "production_access": account.get("ProductionAccessEnabled"),
            "review_case_id": review.get("CaseId"),
            "review_status": review.get("Status"),
            "suppressed_reasons": (account.get("SuppressionAttributes") or {}).get("SuppressedReasons", []),
        }
        text = f"SES in {region}: {status}, sending {'enabled' if sending else 'paused'}"
        if review.get("CaseId"):
            text += f", review case {review['CaseId']} ({review.get('Status', '?')})"
        if status != "HEALTHY" or not sending:
            severity: Severity = "critical" if status == "SHUTDOWN" else "high"
            findings.append(check.fail(gathered, region, "ses-account", region, text, severity, **data))
        else:
            findings.append(check.passed(gathered, region, "ses-account", region, text, **data))
    return findings


def judge_ses_suppression(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    for region, account in _accounts(check, gathered, findings):
        reasons = sorted((account.get("SuppressionAttributes") or {}).get("SuppressedReasons", []))
        missing = [reason for reason in SUPPRESSED if reason not in reasons]
        data: dict[str, Any] = {"suppressed_reasons": reasons}
        if missing:
            text = f"SES in {region}: the account-level suppression list ignores {' and '.join(missing)}"
        else:
            text = f"SES in {region}: addresses that bounce or complain are suppressed account-wide"
        make = check.fail if missing else check.passed
        findings.append(make(gathered, region, "ses-account", region, text, **data))
    return findings


def judge_ses_reputation(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    for region, standing in _standings(check, gathered, findings):
        metrics: tuple[tuple[Metric, float | GatherError | None], ...] = (
            ("bounce", standing.bounce_rate),
            ("complaint", standing.complaint_rate),
        )
        for name, rate in metrics:
            level = SES_LEVELS[name]
            resource = f"{region}/{name}-rate"
            if isinstance(rate, GatherError):
                findings.append(check.error(gathered, region, "ses-account", resource, rate))
                continue
            stats = standing.send_statistics
            data: dict[str, Any] = {
                "metric": f"Reputation.{name.capitalize()}Rate",
                "rate": rate,
                "limit": level.review,  # AWS may review at this rate or more
                "pause_level": level.pause,
                "send_statistics": None if isinstance(stats, GatherError) else stats,
            }
            make = check.passed
            if rate is None:
                text = f"No {name} rate data point in {region} for the last two days"
            elif rate >= level.pause:
                text = (
                    f"{name.capitalize()} rate in {region} is {rate:.2%}: at or past the level where AWS "
                    f"may pause sending ({level.pause:.1%} or more)"
                )
                make = check.fail
            elif rate >= level.review:
                text = (
                    f"{name.capitalize()} rate in {region} is {rate:.2%}: at or past the level where AWS "
                    f"may place the account under review ({level.review:.1%} or more)"
                )
                make = check.fail
            else:
                text = f"{name.capitalize()} rate in {region} is {rate:.2%}"
            findings.append(make(gathered, region, "ses-account", resource, text, **data))
    return findings


def judge_ses_feedback(check: Check, gathered: Gathered, context: Context) -> list[Finding]:
    findings: list[Finding] = []
    for region, standing in _standings(check, gathered, findings):
        identities = standing.identities
        if isinstance(identities, GatherError):
            findings.append(check.error(gathered, region, "ses-account", region, identities))
            continue
        destinations = standing.event_destinations
        covered = (
            None
            if isinstance(destinations, GatherError)
            else [name for name, events in destinations.items() if {"BOUNCE", "COMPLAINT"} <= set(events)]
        )
        for identity in identities:
            data: dict[str, Any] = {
                "identity": identity.name,
                "bounce_topic": identity.bounce_topic,
                "complaint_topic": identity.complaint_topic,
                "configuration_sets_with_feedback": covered,
            }
            if identity.bounce_topic and identity.complaint_topic:
                text = f"{identity.name}: bounces and complaints go to SNS"
                findings.append(check.passed(gathered, region, "ses-account", identity.name, text, **data))
            elif covered:
                text = f"{identity.name}: feedback through configuration set(s) {', '.join(covered)}"
                findings.append(check.passed(gathered, region, "ses-account", identity.name, text, **data))
            elif covered is None:
                assert isinstance(destinations, GatherError)
                findings.append(check.error(gathered, region, "ses-account", identity.name, destinations))
            else:
                text = f"{identity.name}: bounces and complaints reach no topic or event destination"
                findings.append(check.fail(gathered, region, "ses-account", identity.name, text, **data))
    return findings


CHECKS = (
    Check(
        "ses-account", "SES account standing: enforcement status, sending, review case", "high",
        "Under review (older notices say 'probation'), SES may pause sending if the cause is not fixed.",
        "Answer the review case with what was fixed; fix the cause before asking to resume.",
        ("ses:GetAccount",), ("ses",), judge_ses_account, KINDS,
    ),
    Check(
        "ses-suppression", "SES account-level suppression list for bounces and complaints", "medium",
        "Without it, SES keeps sending to addresses that bounced or complained, and the rates climb.",
        "Turn on the account-level suppression list for BOUNCE and COMPLAINT.",
        ("ses:GetAccount",), ("ses",), judge_ses_suppression, KINDS,
    ),
    Check(
        "ses-reputation", "SES bounce and complaint rates (CloudWatch Reputation.*)", "high",
        "AWS may review the account at 5 % bounces or 0.1 % complaints or more, and pause sending at "
        "10 % or 0.5 % or more.",
        "Suppress bounced and complaining addresses; clean the list; confirm opt-in.",
        ("cloudwatch:GetMetricData", "ses:GetSendStatistics"), ("ses",), judge_ses_reputation, KINDS,
    ),
    Check(
        "ses-feedback", "SES identities whose bounces and complaints reach a topic or event destination",
        "medium",
        "Without feedback nobody suppresses bad addresses, and the rates climb until AWS acts.",
        "Set bounce and complaint SNS topics, or a configuration-set event destination, and consume them.",
        ("ses:ListIdentities", "ses:GetIdentityNotificationAttributes", "ses:ListConfigurationSets",
         "ses:GetConfigurationSetEventDestinations"),
        ("ses",), judge_ses_feedback, KINDS,
    ),
)  # fmt: skip
