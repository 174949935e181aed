"""Fixes applied and undone from the dashboard, for real against the fake AWS (moto in-process)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from noticedesk.aws.clients import ClientFactory
from noticedesk.config import Config
from noticedesk.store.tables import actions, case_events
from noticedesk.users import add_user
from noticedesk.web.app import create_app
from tests.fixes_helpers import add_findings, finding, make_case
from tests.live_server import running
from tests.web_helpers import NOW, PASSWORD, Clock, Session

REGION = "us-east-1"


def public_image(aws: ClientFactory) -> tuple[Any, str]:
    ec2 = aws.client("ec2", REGION)
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    return ec2, image


def is_public(ec2: Any, image: str) -> bool:
    permissions = ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")[
        "LaunchPermissions"
    ]
    return any(p.get("Group") == "all" for p in permissions)


@pytest.fixture
def admin(sqlite_engine: Engine, aws: ClientFactory) -> Iterator[Session]:
    add_user(sqlite_engine, "alice", PASSWORD, "admin", NOW)
    app = create_app(sqlite_engine, Config(), clock=Clock(NOW + timedelta(hours=1)), clients=lambda: aws)
    with running(app) as url:
        session = Session(url)
        assert session.login("alice").status_code == 303
        yield session
    Session.close_all()


def diagnosed(engine: Engine, image: str, authenticity: str) -> int:
    case_id = make_case(engine, NOW, authenticity, checklist=("make-images-private",))
    add_findings(engine, case_id, NOW, [finding("ami", image, REGION)])
    return case_id


def test_an_admin_applies_then_undoes_a_fix_and_both_carry_their_name(
    admin: Session, aws: ClientFactory, sqlite_engine: Engine
) -> None:
    ec2, image = public_image(aws)
    case_id = diagnosed(sqlite_engine, image, "verified")
    confirm = admin.get(f"/cases/{case_id}/apply")
    assert confirm.status_code == 200 and f"ImageId=&#39;{image}&#39;" in confirm.text
    chosen = re.findall(r'name="action" value="([^"]+)"', confirm.text)
    assert chosen and is_public(ec2, image)  # looking changed nothing
    result = admin.post(f"/cases/{case_id}/apply", {"action": chosen})
    assert result.status_code == 200 and ">applied<" in result.text
    assert not is_public(ec2, image)
    with sqlite_engine.connect() as connection:
        record = connection.execute(select(actions).where(actions.c.id == chosen[0])).one()
        applied_by = connection.execute(
            select(case_events.c.actor).where(
                case_events.c.case_id == case_id, case_events.c.type == "action-applied"
            )
        ).scalar()
    assert record.status == "applied" and record.requested_by == "alice" and applied_by == "alice"
    assert record.before is not None and record.after is not None  # the audit trail, before and after
    assert admin.get(f"/actions/{chosen[0]}/undo").status_code == 200
    assert is_public(ec2, image) is False
    assert admin.post(f"/actions/{chosen[0]}/undo").status_code == 303
    assert is_public(ec2, image)
    with sqlite_engine.connect() as connection:
        undone = connection.execute(select(actions.c.status).where(actions.c.id == chosen[0])).scalar()
        undone_by = connection.execute(
            select(case_events.c.actor).where(
                case_events.c.case_id == case_id, case_events.c.type == "action-undone"
            )
        ).scalar()
    assert undone == "undone" and undone_by == "alice"


def test_an_unverified_notice_needs_the_override_which_is_recorded(
    admin: Session, aws: ClientFactory, sqlite_engine: Engine
) -> None:
    ec2, image = public_image(aws)
    case_id = diagnosed(sqlite_engine, image, "unverified")
    refused = admin.post(f"/cases/{case_id}/apply", {})
    assert refused.status_code == 409 and "not verified" in refused.text and is_public(ec2, image)
    confirm = admin.get(f"/cases/{case_id}/apply", params={"override": "1"})
    assert 'name="override"' in confirm.text
    chosen = re.findall(r'name="action" value="([^"]+)"', confirm.text)
    assert admin.post(f"/cases/{case_id}/apply", {"action": chosen, "override": "1"}).status_code == 200
    assert not is_public(ec2, image)
    with sqlite_engine.connect() as connection:
        override = connection.execute(select(actions.c.override).where(actions.c.id == chosen[0])).scalar()
    assert override["by"] == "alice" and override["authenticity"] == "unverified"
