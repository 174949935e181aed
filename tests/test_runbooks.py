"""The runbooks are data: walk every file and hold it to the shape the checklist relies on."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from noticedesk.cases.runbooks import LANGUAGES, checklist_for, runbook, runbook_names, runbooks_for
from noticedesk.errors import NotFoundError
from noticedesk.notices.model import ABUSE_TYPES, Kind

KIND_RUNBOOKS = [kind.value for kind in Kind]
TYPE_RUNBOOKS = [f"abuse-{abuse_type}" for abuse_type in ABUSE_TYPES]
EVERY_RUNBOOK = runbook_names()
AWS_DOMAINS = ("aws.amazon.com", "docs.aws.amazon.com", "repost.aws")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
STEP_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def test_every_kind_and_abuse_type_has_a_runbook() -> None:
    missing = sorted(set(KIND_RUNBOOKS + TYPE_RUNBOOKS) - set(EVERY_RUNBOOK))
    assert missing == []


def test_no_runbook_is_orphaned() -> None:
    """A file that names neither a kind nor an abuse type would never reach a checklist."""
    assert sorted(set(EVERY_RUNBOOK) - set(KIND_RUNBOOKS + TYPE_RUNBOOKS)) == []


@pytest.mark.parametrize("name", EVERY_RUNBOOK)
def test_both_languages_are_complete(name: str) -> None:
    book = runbook(name)
    for field in (book.title, book.cause, book.if_ignored):
        assert set(field) == set(LANGUAGES)
        assert all(field[language].strip() for language in LANGUAGES)
        assert JAPANESE.search(field["ja"]), f"{name}: Japanese text without Japanese: {field['ja']!r}"
        assert not JAPANESE.search(field["en"]), f"{name}: English text with Japanese: {field['en']!r}"


@pytest.mark.parametrize("name", EVERY_RUNBOOK)
def test_steps_are_bilingual_and_keyed_once(name: str) -> None:
    book = runbook(name)
    assert book.steps, f"{name} has no steps"
    keys = [step.key for step in book.steps]
    assert len(keys) == len(set(keys)), f"{name}: repeated step keys"
    for step in book.steps:
        assert STEP_KEY.match(step.key) and len(step.key) <= 40, step.key
        assert step.en.strip() and step.ja.strip(), step.key
        assert JAPANESE.search(step.ja), f"{name}/{step.key}: ja has no Japanese"
        assert not JAPANESE.search(step.en), f"{name}/{step.key}: en has Japanese"


@pytest.mark.parametrize("name", EVERY_RUNBOOK)
def test_references_are_https_on_aws_domains(name: str) -> None:
    book = runbook(name)
    assert book.references, f"{name} has no references"
    for reference in book.references:
        parts = urlsplit(reference.url)
        assert parts.scheme == "https", reference.url
        host = parts.hostname or ""
        assert any(host == domain or host.endswith("." + domain) for domain in AWS_DOMAINS), reference.url
        assert reference.title.strip()


def test_abuse_type_steps_never_hide_behind_the_kind_steps() -> None:
    """The checklist keeps the first step of a key: a type step sharing a kind key would vanish."""
    kind_keys = {step.key for step in runbook("abuse-report").steps}
    for name in TYPE_RUNBOOKS:
        shared = kind_keys & {step.key for step in runbook(name).steps}
        assert shared == set(), f"{name} reuses abuse-report keys {shared}"


def test_abuse_report_checklist_is_kind_steps_then_type_steps() -> None:
    steps = checklist_for("abuse-report", ("dos", "spam"))
    expected = [
        *runbook("abuse-report").steps,
        *runbook("abuse-dos").steps,
        *runbook("abuse-spam").steps,
    ]
    assert [step.key for step in steps] == [step.key for step in expected]
    assert len({step.key for step in steps}) == len(steps)
    assert steps[0].key == "identify-resource"
    assert steps[-1].key == "spam-find-sender"


def test_runbooks_for_skips_types_without_a_runbook() -> None:
    books = runbooks_for("abuse-report", ("port-scan", "no-such-type"))
    assert [book.name for book in books] == ["abuse-report", "abuse-port-scan"]


def test_compromised_runbook_says_never_remove_the_quarantine_policy() -> None:
    book = runbook("account-compromised")
    assert "AWSCompromisedKeyQuarantine" in book.if_ignored["en"]
    keys = [step.key for step in book.steps]
    # Deactivate before deleting: a deleted key cannot be brought back if production breaks.
    assert keys.index("deactivate-key") < keys.index("delete-exposed-key")
    assert "keep-quarantine" in keys


@pytest.mark.parametrize(
    ("name", "figures"),
    [
        ("abuse-report", ("24", "48")),
        ("ses-vulnerable-site", ("14",)),
        ("ses-bounce", ("10%", "5%", "14")),
        ("ses-complaint", ("0.5%", "0.1%", "2,700,000")),
    ],
)
def test_the_clocks_and_thresholds_are_stated_in_both_languages(name: str, figures: tuple[str, ...]) -> None:
    book = runbook(name)
    for language in LANGUAGES:
        text = book.cause[language] + book.if_ignored[language]
        for figure in figures:
            assert figure in text, f"{name}/{language} does not mention {figure}"


def test_an_unknown_runbook_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        runbook("no-such-runbook")
