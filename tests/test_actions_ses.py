"""SES fixes with Stubber (moto has no sesv2 account API): the exact request shapes, read back, undo."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.stub import Stubber
from fixes_helpers import ACCOUNT, add_findings, apply_all, finding, make_case, remediation
from sqlalchemy import Engine

from noticedesk.aws.clients import ClientFactory

REGION = "us-east-1"


def _account(sending: bool = True, reasons: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"SendingEnabled": sending, "SuppressionAttributes": {"SuppressedReasons": list(reasons)}}


def _case(engine: Engine, now: datetime, **data: Any) -> int:
    case_id = make_case(engine, now, kind="ses-vulnerable-site", checklist=("pause-sending",))
    add_findings(engine, case_id, now, [finding("ses-account", f"ses:{REGION}", REGION, **data)])
    return case_id


def test_pause_sending_and_enable_account_suppression_then_undo(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id = _case(sqlite_engine, now, sending_abused=True, suppressed_reasons=["BOUNCE"])
    stubber = Stubber(aws.client("sesv2", REGION, ACCOUNT))
    stubber.add_response("get_account", _account(True), {})
    stubber.add_response("put_account_sending_attributes", {}, {"SendingEnabled": False})
    stubber.add_response("get_account", _account(False), {})
    stubber.add_response("get_account", _account(False, ("BOUNCE",)), {})
    stubber.add_response(
        "put_account_suppression_attributes", {}, {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}
    )
    stubber.add_response("get_account", _account(False, ("BOUNCE", "COMPLAINT")), {})
    # undo of both, in reverse
    stubber.add_response("get_account", _account(False, ("BOUNCE", "COMPLAINT")), {})
    stubber.add_response("put_account_suppression_attributes", {}, {"SuppressedReasons": ["BOUNCE"]})
    stubber.add_response("get_account", _account(False, ("BOUNCE",)), {})
    stubber.add_response("get_account", _account(False, ("BOUNCE",)), {})
    stubber.add_response("put_account_sending_attributes", {}, {"SendingEnabled": True})
    stubber.add_response("get_account", _account(True, ("BOUNCE",)), {})
    runner = remediation(sqlite_engine, aws, now)
    with stubber:
        report = apply_all(runner, case_id)
        assert [(r.action, r.status, r.verified) for r in report.results] == [
            ("ses-pause-sending", "applied", True),
            ("ses-account-suppression", "applied", True),
        ]
        assert report.results[0].before == {"sending_enabled": True}
        assert report.results[0].after == {"sending_enabled": False}
        for record in reversed(report.results):
            undone, _ = runner.undo(record.id, confirmed=True, requested_by="tester")
            assert undone.status == "undone"
    stubber.assert_no_pending_responses()


def test_suppress_addresses_puts_each_and_undo_removes_only_the_new_ones(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    addresses = [{"address": "gone@example.org", "reason": "BOUNCE"}, {"address": "angry@example.net",
                                                                        "reason": "complaint"}]  # fmt: skip
    case_id = _case(sqlite_engine, now, suppressed_reasons=["BOUNCE", "COMPLAINT"], addresses=addresses)
    not_found = {"service_error_code": "NotFoundException", "http_status_code": 404}
    stubber = Stubber(aws.client("sesv2", REGION, ACCOUNT))

    def present(address: str, reason: str) -> None:
        stubber.add_response(
            "get_suppressed_destination",
            {"SuppressedDestination": {"EmailAddress": address, "Reason": reason, "LastUpdateTime": now}},
            {"EmailAddress": address},
        )

    def absent() -> None:
        gone = {"EmailAddress": "gone@example.org"}
        stubber.add_client_error("get_suppressed_destination", expected_params=gone, **not_found)

    absent()
    present("angry@example.net", "COMPLAINT")  # already there before
    stubber.add_response(
        "put_suppressed_destination", {}, {"EmailAddress": "gone@example.org", "Reason": "BOUNCE"}
    )
    stubber.add_response(
        "put_suppressed_destination", {}, {"EmailAddress": "angry@example.net", "Reason": "COMPLAINT"}
    )
    present("gone@example.org", "BOUNCE")
    present("angry@example.net", "COMPLAINT")
    # undo: read, delete only the address that was not suppressed before, read back
    present("gone@example.org", "BOUNCE")
    present("angry@example.net", "COMPLAINT")
    stubber.add_response("delete_suppressed_destination", {}, {"EmailAddress": "gone@example.org"})
    absent()
    present("angry@example.net", "COMPLAINT")
    runner = remediation(sqlite_engine, aws, now)
    with stubber:
        [result] = apply_all(runner, case_id).results
        assert (result.action, result.status) == ("ses-suppress-addresses", "applied")
        assert [call.params["EmailAddress"] for call in result.plan.undo] == ["gone@example.org"]
        undone, _ = runner.undo(result.id, confirmed=True, requested_by="tester")
        assert undone.status == "undone"
    stubber.assert_no_pending_responses()


def test_a_failed_ses_call_is_recorded_as_failed_with_the_error(
    aws: ClientFactory, sqlite_engine: Engine, now: datetime
) -> None:
    case_id = _case(sqlite_engine, now, sending_abused=True, suppressed_reasons=["BOUNCE", "COMPLAINT"])
    stubber = Stubber(aws.client("sesv2", REGION, ACCOUNT))
    stubber.add_response("get_account", _account(True), {})
    stubber.add_client_error("put_account_sending_attributes", "AccessDeniedException", "on hold", 403)
    stubber.add_response("get_account", _account(True), {})
    with stubber:
        [result] = apply_all(remediation(sqlite_engine, aws, now), case_id).results
    assert result.status == "failed" and not result.verified
    assert "AccessDeniedException" in (result.error or "")
    assert result.after == {"sending_enabled": True}
