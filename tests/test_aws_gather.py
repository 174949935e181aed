"""Gathering against moto in-process, with Stubber for the APIs moto lacks, and the error paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.stub import ANY, Stubber

from noticedesk.aws.actions import propose
from noticedesk.aws.checks.catalogue import CATALOGUE, select
from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import Diagnosis, enabled_regions, run_diagnosis
from noticedesk.aws.findings import Finding
from noticedesk.config import DiagnoseConfig
from noticedesk.demo.aws import seed_demo_account
from noticedesk.notices.model import Facts

DATA = Path(__file__).parent / "data" / "diagnose"
ACCOUNT = "111122223333"
REGIONS = ("ap-northeast-1", "us-west-2")


@pytest.fixture
def customer(aws: ClientFactory) -> ClientFactory:
    """The customer's account in the fake AWS, reached as NoticeDesk reaches it: a role assumed there."""
    return ClientFactory(role_name="noticedesk")


def now() -> datetime:
    return datetime.now(UTC)


def by(diagnosis: Diagnosis, check: str) -> dict[str | None, Finding]:
    return {finding.resource_id: finding for finding in diagnosis.findings if finding.check == check}


def test_demo_account_problems_are_found_and_look_alikes_pass(customer: ClientFactory) -> None:
    planted = seed_demo_account(customer)
    facts = Facts(access_key_ids=(planted["leaked_key"],), ip_addresses=(planted["reported_ip"],))
    settings = DiagnoseConfig(usual_regions=["ap-northeast-1"], recent_days=0)
    result = run_diagnosis(
        customer, CATALOGUE, now(), account_id=ACCOUNT, regions=REGIONS, facts=facts, settings=settings
    )
    assert by(result, "public-amis")[planted["public_ami"]].status == "fail"
    assert by(result, "public-amis")[planted["private_ami"]].status == "pass"
    assert by(result, "public-ebs-snapshots")[planted["public_snapshot"]].status == "fail"
    assert by(result, "public-ebs-snapshots")[planted["private_snapshot"]].status == "pass"
    rds = by(result, "public-rds-snapshots")
    assert rds["orders-public"].status == "fail" and rds["orders-private"].status == "pass"
    groups = by(result, "security-groups")
    assert groups[planted["open_security_group"]].status == "fail"
    assert groups[planted["web_security_group"]].status == "pass"
    instances = by(result, "instances")
    assert instances[planted["gpu_instance"]].status == "fail"
    assert "accelerated type g4dn.xlarge" in instances[planted["gpu_instance"]].detail
    assert instances[planted["clean_instance"]].status == "pass"
    quarantine = by(result, "quarantine-policy")
    assert quarantine["ci-deployer"].status == "fail" and "Never detach" in quarantine["ci-deployer"].detail
    assert "another administrator" in quarantine["ci-deployer"].detail
    assert "removes it" not in quarantine["ci-deployer"].detail  # AWS says only: follow the support case
    assert set(quarantine) == {"ci-deployer"}
    mfa = by(result, "console-mfa")
    assert mfa["ops-console"].status == "fail" and mfa["admin-mfa"].status == "pass"
    persistence = by(result, "persistence")
    assert persistence["support-backdoor"].status == "fail" and "ec2-app-role" not in persistence
    owner = next(iter(by(result, "key-owner").values()))
    assert owner.status == "fail" and owner.data["user_name"] == "ci-deployer"
    assert owner.data["access_key_id"] == planted["leaked_key"]
    assert planted["leaked_key"] not in owner.detail  # masked for people
    target = next(iter(by(result, "abuse-target").values()))
    assert target.status == "fail" and target.resource_id == planted["reported_instance"]
    assert target.data["open_to_world"] == {planted["open_security_group"]: ["tcp/22 from 0.0.0.0/0"]}
    # moto lacks LookupEvents and block-public-access: those are errors, never passes.
    assert {f.status for f in result.findings if f.check in ("key-activity", "block-public-access")} == {
        "error"
    }
    for finding in result.findings:
        json.dumps(finding.to_json())  # data is storable as JSON


def test_recent_creations_are_persistence(customer: ClientFactory) -> None:
    planted = seed_demo_account(customer)
    checks = select(["persistence", "instances"])
    result = run_diagnosis(
        customer, checks, now(), account_id=ACCOUNT, regions=REGIONS, settings=DiagnoseConfig()
    )
    persistence = by(result, "persistence")
    assert persistence["ci-deployer"].data["resource_type"] == "iam-user"
    assert "launched" in by(result, "instances")[planted["clean_instance"]].detail


def test_key_activity_from_cloudtrail_pages_and_denied_region(customer: ClientFactory) -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    pages = json.loads((DATA / "lookup_events_leaked_key.json").read_text())["pages"]
    tokyo = customer.client("cloudtrail", "ap-northeast-1", ACCOUNT)
    oregon = customer.client("cloudtrail", "us-west-2", ACCOUNT)
    with Stubber(tokyo) as tokyo_stub, Stubber(oregon) as oregon_stub:
        expected = {
            "LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": key}],
            "StartTime": ANY,
            "EndTime": ANY,
        }
        tokyo_stub.add_response("lookup_events", _events(pages[0]), expected)
        tokyo_stub.add_response("lookup_events", _events(pages[1]), {**expected, "NextToken": "page-2"})
        oregon_stub.add_client_error("lookup_events", "AccessDeniedException", "not allowed")
        result = run_diagnosis(
            customer, select(["key-activity"]), now(), account_id=ACCOUNT, regions=REGIONS,
            facts=Facts(access_key_ids=(key,)),
        )  # fmt: skip
    (finding,) = result.findings
    assert finding.status == "fail" and finding.severity == "critical"
    assert finding.data["calls"] == 3 and finding.data["regions"] == {"ap-northeast-1": 3}
    assert finding.data["source_ips"] == {"198.51.100.23": 2, "203.0.113.99": 1}
    assert finding.data["error_rate"] == pytest.approx(0.333)
    assert {item["event"] for item in finding.data["highlights"]} == {"RunInstances", "CreateUser"}
    assert finding.data["regions_not_read"] == ["us-west-2"]
    assert finding.resource_id == "AKIA…MPLE"


def test_key_activity_unreadable_everywhere_is_error_not_pass(customer: ClientFactory) -> None:
    clients = [customer.client("cloudtrail", region, ACCOUNT) for region in REGIONS]
    stubs = [Stubber(client) for client in clients]
    for stub in stubs:
        stub.add_client_error("lookup_events", "AccessDeniedException", "not allowed")
        stub.activate()
    result = run_diagnosis(
        customer, select(["key-activity"]), now(), account_id=ACCOUNT, regions=REGIONS,
        facts=Facts(access_key_ids=("AKIAIOSFODNN7EXAMPLE",)),
    )  # fmt: skip
    (finding,) = result.findings
    assert finding.status == "error" and finding.data["error_kind"] == "access-denied"


def test_iam_access_denied_makes_every_identity_check_an_error(customer: ClientFactory) -> None:
    iam = customer.client("iam", None, ACCOUNT)
    with Stubber(iam) as stub:
        stub.add_client_error("get_account_authorization_details", "AccessDenied", "no")
        stub.add_client_error("generate_credential_report", "AccessDenied", "no")
        checks = select(["access-keys", "root-access-keys", "console-mfa", "quarantine-policy"])
        result = run_diagnosis(customer, checks, now(), account_id=ACCOUNT, regions=REGIONS)
    assert [f.status for f in result.findings] == ["error"] * 4
    assert all("access-denied" in f.detail for f in result.findings)


def test_block_public_access_state_through_stubber(customer: ClientFactory) -> None:
    ec2 = customer.client("ec2", "ap-northeast-1", ACCOUNT)
    with Stubber(ec2) as stub:
        stub.add_response("get_snapshot_block_public_access_state", {"State": "unblocked"}, {})
        stub.add_response(
            "get_image_block_public_access_state", {"ImageBlockPublicAccessState": "block-new-sharing"}, {}
        )
        result = run_diagnosis(
            customer, select(["block-public-access"]), now(), account_id=ACCOUNT, regions=("ap-northeast-1",)
        )
    states = {f.resource_id: f.status for f in result.findings}
    assert states == {"ap-northeast-1/snapshots": "fail", "ap-northeast-1/images": "pass"}


def test_ses_standing_with_stubbed_sesv2_and_moto_metrics(customer: ClientFactory) -> None:
    region = "us-east-1"
    topic = "arn:aws:sns:us-east-1:111122223333:ses-feedback"
    wired = {"BounceTopic": topic, "ComplaintTopic": topic, "DeliveryTopic": "", "ForwardingEnabled": False}
    # moto stores identity notification topics but never returns them: SES v1 is stubbed too.
    ses = customer.client("ses", region, ACCOUNT)
    ses_stub = Stubber(ses)
    ses_stub.add_response(
        "get_send_statistics", {"SendDataPoints": [{"DeliveryAttempts": 100, "Bounces": 8}]}, {}
    )
    ses_stub.add_response("list_identities", {"Identities": ["mail.example.jp", "news.example.jp"]}, {})
    ses_stub.add_response(
        "get_identity_notification_attributes",
        {
            "NotificationAttributes": {
                "mail.example.jp": wired,
                "news.example.jp": {"BounceTopic": "", "ComplaintTopic": "", "DeliveryTopic": "",
                                    "ForwardingEnabled": True},
            }
        },
        {"Identities": ["mail.example.jp", "news.example.jp"]},
    )  # fmt: skip
    ses_stub.activate()
    customer.client("cloudwatch", region, ACCOUNT).put_metric_data(
        Namespace="AWS/SES",
        MetricData=[
            {"MetricName": "Reputation.BounceRate", "Value": 0.08, "Timestamp": now() - timedelta(minutes=10)}
        ],
    )
    sesv2 = customer.client("sesv2", region, ACCOUNT)
    with Stubber(sesv2) as stub:
        stub.add_response(
            "get_account",
            {
                "EnforcementStatus": "PROBATION",
                "SendingEnabled": True,
                "ProductionAccessEnabled": True,
                "Details": {"ReviewDetails": {"Status": "GRANTED", "CaseId": "12345678901"}},
            },
            {},
        )
        stub.add_response("list_configuration_sets", {"ConfigurationSets": ["marketing"]}, {})
        stub.add_response(
            "get_configuration_set_event_destinations",
            {"EventDestinations": [{"Name": "d", "Enabled": True, "MatchingEventTypes": ["BOUNCE"]}]},
            {"ConfigurationSetName": "marketing"},
        )
        result = run_diagnosis(
            customer, select(["ses-account", "ses-suppression", "ses-reputation", "ses-feedback"]), now(),
            account_id=ACCOUNT,
            regions=(region,),
        )  # fmt: skip
    account = by(result, "ses-account")[region]
    assert account.status == "fail" and account.data["review_case_id"] == "12345678901"
    rates = by(result, "ses-reputation")
    assert rates[f"{region}/bounce-rate"].status == "fail"
    assert rates[f"{region}/complaint-rate"].status == "pass"
    feedback = by(result, "ses-feedback")
    assert feedback["mail.example.jp"].status == "pass"
    assert feedback["news.example.jp"].status == "fail"  # the set only forwards bounces
    assert rates[f"{region}/bounce-rate"].data["send_statistics"]["Bounces"] == 8
    ses_stub.assert_no_pending_responses()
    suppression = by(result, "ses-suppression")[region]
    assert suppression.status == "fail" and suppression.data["suppressed_reasons"] == []
    # What the fixes make of these findings (their field names are the diagnosis's).
    plans = {(plan.action, plan.resource_id, plan.default) for plan in propose(result.findings, now())}
    assert plans == {
        ("ses-pause-sending", f"ses:{region}", False),
        ("ses-account-suppression", f"ses:{region}", True),
    }


def test_not_implemented_in_moto_is_error(customer: ClientFactory) -> None:
    result = run_diagnosis(
        customer, select(["ses-account"]), now(), account_id=ACCOUNT, regions=("us-east-1",)
    )
    (finding,) = result.findings
    assert finding.status == "error" and finding.data["error_kind"] == "not-implemented"


def test_regions_come_from_describe_regions_and_calls_are_counted(customer: ClientFactory) -> None:
    result = run_diagnosis(customer, select(["root-access-keys"]), now(), account_id=ACCOUNT)
    assert "ap-northeast-1" in result.regions and len(result.regions) > 10
    assert result.calls >= 3
    assert not any(region.startswith(("cn-", "us-gov-")) for region in result.regions)


def test_only_enabled_regions_of_the_commercial_partition_unless_asked(customer: ClientFactory) -> None:
    listed = [
        {"RegionName": name, "OptInStatus": status, "Endpoint": f"ec2.{name}.amazonaws.com"}
        for name, status in (
            ("us-east-1", "opt-in-not-required"),
            ("ap-east-1", "not-opted-in"),
            ("me-central-1", "opted-in"),
            ("cn-north-1", "opt-in-not-required"),
            ("us-gov-west-1", "opt-in-not-required"),
        )
    ]
    ec2 = customer.client("ec2", None, ACCOUNT)
    with Stubber(ec2) as stub:
        stub.add_response("describe_regions", {"Regions": listed}, {"AllRegions": True})
        assert enabled_regions(customer, ACCOUNT) == ("me-central-1", "us-east-1")
    asked = run_diagnosis(
        customer, select(["root-access-keys"]), now(), account_id=ACCOUNT, regions=("cn-north-1",)
    )
    assert asked.regions == ("cn-north-1",)


def _events(page: dict[str, object]) -> dict[str, object]:
    events = [
        {**event, "EventTime": datetime.fromisoformat(str(event["EventTime"]))}
        for event in page["Events"]  # type: ignore[attr-defined]
    ]
    return {"Events": events, **({"NextToken": page["NextToken"]} if "NextToken" in page else {})}


def test_an_html_error_page_is_named_not_quoted() -> None:
    """moto's server (and some proxies) answer a call they lack with an HTML 500 page."""
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    from noticedesk.aws.gather import classify

    page = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal</h1>"
    server = ClientError({"Error": {"Code": "500", "Message": page}}, "LookupEvents")
    unparsable = ResponseParserError(f"Unable to parse response, invalid XML received: b'{page}'")
    for error in (server, unparsable):
        failure = classify("cloudtrail", "LookupEvents", "us-west-2", error)
        assert "HTML error page" in failure.message and "<" not in failure.describe()
        assert failure.kind == "aws-error"  # the endpoint answered: not a connection problem
    plain = ClientError({"Error": {"Code": "AccessDenied", "Message": "no\n  way"}}, "LookupEvents")
    assert classify("cloudtrail", "LookupEvents", None, plain).message == "AccessDenied: no way"
