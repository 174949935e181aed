"""The demo's AWS part: the whole flow against a fake AWS (moto, in this process), never a real one.

moto is an optional dependency (``pip install 'noticedesk[demo]'``); without it the demo shows
triage, runbooks and replies only, and says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from unittest.mock import patch

from sqlalchemy import Engine

from noticedesk.aws.clients import ClientFactory
from noticedesk.aws.diagnose import Diagnosis, checks_for, run_diagnosis
from noticedesk.cases.queries import get_case
from noticedesk.config import Config
from noticedesk.demo.aws import ABUSE_REGION, DEMO_ACCOUNT, GPU_REGION, seed_demo_account
from noticedesk.demo.moto_routes import build_routes_one_at_a_time
from noticedesk.remediation.diagnoses import store_diagnosis
from noticedesk.remediation.runner import ApplyRequest, Remediation, RunReport
from noticedesk.runtime import boto3_clients

DEMO_REGIONS = (ABUSE_REGION, GPU_REGION)
DEMO_ROLE = "NoticeDeskDemo"
DEMO_ACTOR = "demo (notice confirmed by the demo itself)"
SAMPLE_LEAKED_KEY = "AKIA4DEMOLEAKEDKEY01"
"""The access key the leaked-key samples name (demo/samples/01-…eml, 11-…json)."""
_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_DEFAULT_REGION": "us-east-1",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",  # a region sweep is 7x faster without moto's stock images
}
_REAL_AWS_SETTINGS = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE")


def fake_aws_available() -> bool:
    try:
        import moto  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def fake_aws() -> Iterator[ClientFactory]:
    """A moto account reached like a customer's: a role assumed in the demo account."""
    cleared = {name: "" for name in _REAL_AWS_SETTINGS if name in os.environ}
    with patch.dict(os.environ, {**_FAKE_ENV, **cleared}):
        for name in cleared:
            del os.environ[name]
        from moto import mock_aws

        build_routes_one_at_a_time()
        with mock_aws():
            yield boto3_clients(role_name=DEMO_ROLE)  # the real factory, against moto


@dataclass(frozen=True)
class DemoRun:
    case_id: int
    planted: dict[str, object]
    diagnosis: Diagnosis
    report: RunReport


@contextmanager
def _leaked_key_as_in_the_samples() -> Iterator[None]:
    """The first IAM access key moto makes gets the id the sample notices name.

    moto makes up key ids; without this, the leaked-key case would name a key the fake account
    does not hold, and the demo could show no key being found and deactivated. The seeding makes
    the leaked key first. This reaches into moto (``moto.iam.models``): should that helper move, the
    key keeps moto's id and the demo still runs, its diagnosis saying the named key is not there.
    """
    try:
        from moto.iam import models
    except ImportError:
        yield
        return
    made_up = getattr(models, "generate_access_key_id_from_account_id", None)
    if made_up is None:
        yield
        return
    sampled = [SAMPLE_LEAKED_KEY]

    def key_id(account_id: str, prefix: str, total_length: int = 20) -> str:
        if prefix == "AKIA" and sampled:
            return sampled.pop()
        return str(made_up(account_id, prefix, total_length))

    with patch.object(models, "generate_access_key_id_from_account_id", key_id):
        yield


def diagnose_and_fix(engine: Engine, config: Config, case_id: int, now: datetime) -> DemoRun:
    """Seed the fake account, diagnose the case, apply its default fixes (keep going on errors)."""
    case = get_case(engine, case_id)
    with fake_aws() as factory:
        with _leaked_key_as_in_the_samples():
            planted = seed_demo_account(factory, case.summary.account_id or DEMO_ACCOUNT)
        diagnosis = run_diagnosis(
            factory,
            checks_for(case.summary.kind, case.facts),
            now,
            account_id=case.summary.account_id or DEMO_ACCOUNT,
            regions=DEMO_REGIONS,
            facts=case.facts,
            settings=config.diagnose,
        )
        store_diagnosis(engine, diagnosis, case_id, now)
        remediation = Remediation(engine, factory, config.fixes, lambda: now)
        report = remediation.apply(
            case_id,
            ApplyRequest(confirmed=True, verified_override=True, keep_going=True, requested_by=DEMO_ACTOR),
        )
    return DemoRun(case_id, planted, diagnosis, report)
