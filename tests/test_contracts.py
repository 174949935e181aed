"""The names three features share, walked from both ends: checks → fixes → runbooks → replies.

Each feature was built against written contracts and guessed some of the others' names; these
tests keep the guesses from coming back. They read the catalogues and data files only (fast).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from noticedesk.aws.actions import ACTIONS, Action, propose
from noticedesk.aws.checks.catalogue import BY_ID
from noticedesk.aws.findings import Finding
from noticedesk.cases.runbooks import runbook, runbook_names
from noticedesk.replies.phrasebook import action_phrase, phrases

NOW = datetime.fromisoformat("2026-11-28T12:00:00+00:00")


def _kinds(action: Action) -> set[str]:
    """The case kinds an action can be proposed for: those of the checks that trigger it."""
    kinds: set[str] = set()
    for check_id in action.triggers:
        check_kinds = BY_ID[check_id].kinds
        kinds |= set(check_kinds) if check_kinds is not None else set(runbook_names())
    return kinds


def _steps_for(kinds: set[str]) -> set[str]:
    """Step keys of the kinds' runbooks, with the abuse-type runbooks an abuse report may add."""
    names = [name for name in runbook_names() if name in kinds]
    if "abuse-report" in kinds:
        names += [name for name in runbook_names() if name.startswith("abuse-")]
    return {step.key for name in names for step in runbook(name).steps}


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_every_trigger_is_a_real_check(action: Action) -> None:
    assert action.triggers, f"{action.name}: no diagnosis check proposes it"
    assert set(action.triggers) <= set(BY_ID), set(action.triggers) - set(BY_ID)


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_every_checklist_key_is_a_step_of_a_runbook_the_action_applies_to(action: Action) -> None:
    assert action.checklist_items or action.name in UNTICKED, f"{action.name} completes no runbook step"
    steps = _steps_for(_kinds(action))
    missing = [key for key in action.checklist_items if key not in steps]
    assert missing == [], f"{action.name}: {missing} in none of the runbooks of {sorted(_kinds(action))}"


UNTICKED = {"iam-user-quarantine", "login-profile-remove", "detach-policy"}
"""Actions that complete no runbook step on their own (each is one part of a wider manual step)."""


def test_the_checklist_walk_would_catch_a_guessed_key() -> None:
    assert "enable-suppression" not in _steps_for({"ses-bounce", "ses-complaint", "ses-review"})
    assert "account-suppression-list" in _steps_for({"ses-bounce"})
    assert "stop-activity" in _steps_for({"abuse-report"})
    assert "malware-isolate" in _steps_for({"abuse-report"})


@pytest.mark.parametrize("action", ACTIONS, ids=lambda action: action.name)
def test_every_action_has_a_phrase_in_both_languages(action: Action) -> None:
    for lang in ("en", "ja"):
        sentence = action_phrase(action.name, "RESOURCE", "REGION", lang)
        assert sentence, f"no {lang} phrase for {action.name}"
        assert "{" not in sentence
        assert "RESOURCE" in sentence or "REGION" in sentence


def test_every_phrase_names_a_registered_action() -> None:
    assert set(phrases()["action"]) == {action.name for action in ACTIONS}


def _finding(check: str, resource_type: str, resource_id: str, region: str | None, **data: object) -> Finding:
    return Finding(
        check,
        "fail",
        "high",
        "111122223333",
        region,
        resource_id,
        "d",
        {"resource_type": resource_type, **data},
    )


def test_account_items_roles_and_functions_are_never_taken_for_users_or_instances() -> None:
    """``persistence`` reports roles and Lambda functions as resource type ``account`` + ``item_type``."""
    role = _finding("persistence", "account", "support-backdoor", None, item_type="iam-role")
    function = _finding("persistence", "account", "miner", "us-east-1", item_type="lambda-function")
    root = _finding("root-access-keys", "account", "111122223333", None)
    assert propose([role, function, root], NOW) == []


def test_findings_that_name_no_resource_to_change_propose_nothing() -> None:
    activity = _finding("key-activity", "access-key", "AKIA…MPLE", None, access_key_id="AKIAIOSFODNN7EXAMPLE")
    mfa = _finding("console-mfa", "iam-user", "ops", None, user_name="ops")
    unheld_ip = _finding("abuse-target", "instance", "203.0.113.9", "ap-northeast-1", instance_id=None)
    spot = _finding("instances", "instance", "sir-1", "us-east-1", instance_id=None, spot_request_id="sir-1")
    assert propose([activity, mfa, unheld_ip, spot], NOW) == []


@pytest.mark.parametrize("check_id", sorted(BY_ID))
def test_every_check_has_a_japanese_headline(check_id: str) -> None:
    headline = phrases()["check"].get(check_id, {}).get("ja", "")
    assert headline and not headline.isascii(), f"no Japanese headline for check {check_id}"


def test_every_headline_names_a_check_of_the_catalogue() -> None:
    assert set(phrases()["check"]) == set(BY_ID)


def test_headlines_hold_no_brackets_the_resource_and_region_follow_in_brackets() -> None:
    bracketed = [key for key, entry in phrases()["check"].items() if set(entry["ja"]) & set("()（）")]
    assert bracketed == []
