"""Pure judges on hand-built gathered data: no AWS at all."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore
from sqlalchemy import Engine, insert, select

from noticedesk.aws.actions import propose
from noticedesk.aws.checks import Context, Gathered
from noticedesk.aws.checks.catalogue import BY_ID, CATALOGUE
from noticedesk.aws.checks.compute import ACCELERATED, risky_rules
from noticedesk.aws.diagnose import Diagnosis, checks_for
from noticedesk.aws.findings import Finding
from noticedesk.aws.gather import GatherError
from noticedesk.aws.gather.cloudtrail import AddressEvent, Trail
from noticedesk.aws.gather.ec2 import Address, Instance, Instances, Network, OpenRule, SecurityGroup
from noticedesk.aws.gather.ses import SesStanding
from noticedesk.cli.iam_policy import policy_statement
from noticedesk.notices.model import Facts
from noticedesk.remediation.diagnoses import store_diagnosis
from noticedesk.store.tables import case_events, cases, findings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _instance(instance_id: str, ip: str | None, groups: tuple[str, ...] = ()) -> Instance:
    return Instance(
        instance_id, "t3.micro", "running", NOW - timedelta(days=30), ip, "10.0.0.5", groups, ("vol-1",), (),
        None, "normal",
    )  # fmt: skip


def test_abuse_target_at_reported_time_comes_from_cloudtrail_history() -> None:
    ip = "203.0.113.10"
    network = Network(
        addresses=(Address(ip, "eipalloc-1", "i-new", "eni-2"),),
        interfaces=(),
        security_groups=(SecurityGroup("sg-1", "open", (OpenRule("tcp", 22, 22, "0.0.0.0/0"),)),),
    )
    trail = Trail(
        keys=(),
        address_events=(
            AddressEvent("AssociateAddress", NOW - timedelta(days=3), "i-old", None, "eipalloc-1"),
            AddressEvent("AssociateAddress", NOW - timedelta(hours=1), "i-new", None, "eipalloc-1"),
        ),
    )
    gathered = Gathered(
        "111122223333",
        ("ap-northeast-1",),
        {
            ("network", "ap-northeast-1"): network,
            ("instances", "ap-northeast-1"): Instances((_instance("i-new", ip, ("sg-1",)),), ()),
            ("trail", "ap-northeast-1"): trail,
        },
    )
    facts = Facts(ip_addresses=(ip,), abuse_time=NOW - timedelta(days=1))
    (finding,) = BY_ID["abuse-target"].judge(gathered, Context(now=NOW, facts=facts))
    assert finding.status == "fail" and finding.resource_id == "i-new"
    assert finding.data["at_reported_time"]["instance_id"] == "i-old"
    assert "at the reported time: i-old" in finding.detail
    assert finding.data["open_to_world"] == {"sg-1": ["tcp/22 from 0.0.0.0/0"]}


def test_abuse_target_unknown_ip_with_unreadable_region_is_error() -> None:
    denied = GatherError("ec2", "DescribeAddresses", "us-west-2", "access-denied", "no")
    gathered = Gathered(
        "111122223333",
        ("ap-northeast-1", "us-west-2"),
        {("network", "ap-northeast-1"): Network((), (), ()), ("network", "us-west-2"): denied},
    )
    (finding,) = BY_ID["abuse-target"].judge(
        gathered, Context(now=NOW, facts=Facts(ip_addresses=("192.0.2.1",)))
    )
    assert finding.status == "error"


def test_abuse_target_ip_not_held_by_the_account_is_a_warning_not_a_pass() -> None:
    """Released since, or another account's: a person looks; it is not a clean bill."""
    gathered = Gathered(
        "111122223333", ("ap-northeast-1",), {("network", "ap-northeast-1"): Network((), (), ())}
    )
    (finding,) = BY_ID["abuse-target"].judge(
        gathered, Context(now=NOW, facts=Facts(ip_addresses=("192.0.2.1",)))
    )
    assert finding.status == "warn" and finding.severity == "medium"
    assert "released" in finding.detail and "another account" in finding.detail
    assert finding.to_json()["status"] == "warn" and set(finding.to_json()) >= {"check", "status", "detail"}
    assert propose([finding], NOW, "abuse-report") == []  # nothing to fix from it


def test_accelerated_families_and_web_ports() -> None:
    for name in ("p4d.24xlarge", "g5.xlarge", "inf2.xlarge", "trn1.2xlarge", "dl1.24xlarge"):
        assert ACCELERATED.match(name), name
    for name in ("t3.micro", "m5.large", "c6g.large", "gp3"[:0] + "r6g.large"):
        assert not ACCELERATED.match(name), name
    web = OpenRule("tcp", 443, 443, "0.0.0.0/0")
    ssh = OpenRule("tcp", 22, 22, "::/0")
    everything = OpenRule("-1", None, None, "0.0.0.0/0")
    assert risky_rules((web, ssh, everything)) == (ssh, everything)


def test_every_check_declares_metadata_and_a_real_iam_action() -> None:
    actions = _iam_actions()
    ids = [check.id for check in CATALOGUE]
    assert len(ids) == len(set(ids))
    for check in CATALOGUE:
        assert check.title and check.risk and check.remediation and check.sources, check.id
        for permission in check.permissions:
            assert permission in actions, f"{check.id}: {permission} is not an IAM action"


def test_policy_statement_is_sorted_and_deduplicated() -> None:
    document = policy_statement(["ec2:DescribeImages", "iam:ListAccessKeys", "ec2:DescribeImages"])
    assert document["Statement"][0]["Action"] == ["ec2:DescribeImages", "iam:ListAccessKeys"]


def test_checks_for_a_case_follow_kind_and_facts() -> None:
    abuse = {check.id for check in checks_for("abuse-report", Facts(ip_addresses=("192.0.2.1",)))}
    assert "abuse-target" in abuse and "public-amis" not in abuse
    assert "abuse-target" not in {check.id for check in checks_for("abuse-report", Facts())}
    compromised = {check.id for check in checks_for("account-compromised", Facts(access_key_ids=("AKIA",)))}
    assert {"key-owner", "key-activity", "public-amis", "quarantine-policy"} <= compromised
    assert len(checks_for(None, Facts())) == len([c for c in CATALOGUE if c.needs_facts is None])


def test_findings_and_diagnosis_event_are_stored_on_the_case(engine: Engine) -> None:
    with engine.begin() as connection:
        case_id = connection.execute(
            insert(cases).values(
                case_key="k", account_id="111122223333", kind="abuse-report", stage="notice", status="new",
                title="t", authenticity="verified", facts={}, opened_at=NOW, updated_at=NOW,
            )
        ).inserted_primary_key[0]  # fmt: skip
    diagnosis = Diagnosis(
        run_id="run1",
        account_id="111122223333",
        regions=("ap-northeast-1",),
        checks=("public-amis",),
        findings=(
            Finding("public-amis", "fail", "critical", "111122223333", "ap-northeast-1", "ami-1", "public",
                    {"resource_type": "ami"}),
            Finding("public-amis", "error", "critical", "111122223333", "us-west-2", None, "denied",
                    {"resource_type": "ami"}),
        ),
        calls=3,
        seconds=0.1,
    )  # fmt: skip
    store_diagnosis(engine, diagnosis, case_id, NOW)
    with engine.connect() as connection:
        rows = connection.execute(select(findings).order_by(findings.c.id)).all()
        events = connection.execute(select(case_events).where(case_events.c.type == "diagnosis")).all()
    assert [(row.run_id, row.case_id, row.status) for row in rows] == [
        ("run1", case_id, "fail"),
        ("run1", case_id, "error"),
    ]
    assert rows[0].data == {"resource_type": "ami"}
    (event,) = events
    assert event.detail["run_id"] == "run1"
    assert event.detail["counts"] == {"fail": 1, "warn": 0, "error": 1, "pass": 0}


def _iam_actions() -> set[str]:
    """Every ``prefix:Operation`` from the service models shipped with botocore."""
    root = Path(botocore.__file__).parent / "data"
    actions: set[str] = set()
    for model in root.glob("*/*/service-2.json*"):
        raw = gzip.decompress(model.read_bytes()) if model.suffix == ".gz" else model.read_bytes()
        loaded = json.loads(raw)
        metadata = loaded["metadata"]
        # The IAM prefix is usually signingName/endpointPrefix; CloudWatch signs as "monitoring"
        # but its IAM prefix is its service id, "cloudwatch".
        prefixes = {
            metadata.get("signingName") or metadata["endpointPrefix"],
            metadata["endpointPrefix"],
            metadata.get("serviceId", "").replace(" ", "").lower(),
        }
        actions.update(f"{prefix}:{operation}" for prefix in prefixes for operation in loaded["operations"])
    return actions


def _ses_rates(bounce: float | None, complaint: float | None) -> dict[str, Finding]:
    standing = SesStanding({}, bounce, complaint, {}, (), {})
    gathered = Gathered("111122223333", ("us-east-1",), {("ses", "us-east-1"): standing})
    check = BY_ID["ses-reputation"]
    return {finding.resource_id: finding for finding in check.judge(gathered, Context(NOW))}


def test_ses_rates_are_judged_against_aws_levels_reached_at_the_figure() -> None:
    """AWS may review at 5 % / 0.1 % *or more* and pause at 10 % / 0.5 % or more."""
    below = _ses_rates(0.0499, 0.00099)
    assert {finding.status for finding in below.values()} == {"pass"}
    review = _ses_rates(0.05, 0.001)
    bounce, complaint = review["us-east-1/bounce-rate"], review["us-east-1/complaint-rate"]
    assert bounce.status == complaint.status == "fail"
    assert "may place the account under review (5.0% or more)" in bounce.detail
    assert "may place the account under review (0.1% or more)" in complaint.detail
    assert (bounce.data["limit"], bounce.data["pause_level"]) == (0.05, 0.10)
    pause = _ses_rates(0.10, 0.005)
    assert "may pause sending (10.0% or more)" in pause["us-east-1/bounce-rate"].detail
    assert "may pause sending (0.5% or more)" in pause["us-east-1/complaint-rate"].detail
    assert "5 % bounces or 0.1 % complaints or more" in BY_ID["ses-reputation"].risk


def test_every_quarantine_policy_version_is_recognised_including_v4() -> None:
    from noticedesk.aws.gather.iam import IamInventory, IamUser

    def user(name: str, policy: str) -> IamUser:
        arn = f"arn:aws:iam::aws:policy/{policy}"
        return IamUser(name, f"arn:aws:iam::111122223333:user/{name}", NOW, (arn,), (), (), False, None, None)

    users = tuple(
        user(f"u{version}", f"AWSCompromisedKeyQuarantine{version}") for version in ("", "V2", "V3", "V4")
    )
    inventory = IamInventory(users, (), False, True)
    check = BY_ID["quarantine-policy"]
    found = check.judge(Gathered("111122223333", (), {("iam", None): inventory}), Context(NOW))
    assert {finding.resource_id for finding in found if finding.status == "fail"} == {
        "u",
        "uV2",
        "uV3",
        "uV4",
    }
    assert all("follow the support case" in finding.detail for finding in found)
