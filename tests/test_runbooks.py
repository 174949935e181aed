"""The runbooks are data: walk every file and hold it to the shape the checklist relies on."""

from __future__ import annotations

import re
from pathlib import Path
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
    assert "Do not remove" in book.if_ignored["en"]
    keys = [step.key for step in book.steps]
    # Deactivate before deleting: a deleted key cannot be brought back if production breaks.
    assert keys.index("deactivate-key") < keys.index("delete-exposed-key")
    assert "keep-quarantine" in keys


@pytest.mark.parametrize(
    ("name", "figures"),
    [
        ("abuse-report", ("24",)),
        ("ses-vulnerable-site", ("14",)),
        ("ses-bounce", ("10%", "5%")),
        ("ses-complaint", ("0.5%", "0.1%")),
    ],
)
def test_the_clocks_and_thresholds_are_stated_in_both_languages(name: str, figures: tuple[str, ...]) -> None:
    book = runbook(name)
    for language in LANGUAGES:
        text = book.cause[language] + book.if_ignored[language]
        for figure in figures:
            assert figure in text, f"{name}/{language} does not mention {figure}"


def _texts(name: str, language: str) -> list[str]:
    book = runbook(name)
    return [
        book.title[language],
        book.cause[language],
        book.if_ignored[language],
        *(getattr(step, language) for step in book.steps),
        *(getattr(fact, language) for fact in book.facts),
    ]


SES_RUNBOOKS = ["ses-bounce", "ses-complaint", "ses-review", "ses-vulnerable-site"]
RUNBOOKS_WITH_FACTS = [*SES_RUNBOOKS, "abuse-report", "account-compromised", "account-hold"]
JAPANESE_PAGE = re.compile(r"/(ja|ja_jp|jp)/")


@pytest.mark.parametrize("name", RUNBOOKS_WITH_FACTS)
def test_the_facts_about_aws_each_cite_an_aws_page(name: str) -> None:
    """What NoticeDesk tells an owner about AWS's levels and clocks comes from a page AWS publishes."""
    book = runbook(name)
    assert book.facts, f"{name} states facts about AWS without their sources"
    for fact in book.facts:
        assert fact.en.strip() and JAPANESE.search(fact.ja) and not JAPANESE.search(fact.en), fact
        assert fact.source.strip(), fact
        for url in filter(None, (fact.url, fact.url_ja)):
            parts = urlsplit(url)
            host = parts.hostname or ""
            assert parts.scheme == "https", url
            assert any(host == domain or host.endswith("." + domain) for domain in AWS_DOMAINS), url
        assert not JAPANESE_PAGE.search(fact.url), f"{name}: the English page is the main source: {fact.url}"
        assert not fact.url_ja or JAPANESE_PAGE.search(fact.url_ja), (
            f"{name}: not a Japanese page: {fact.url_ja}"
        )


@pytest.mark.parametrize("name", EVERY_RUNBOOK)
def test_japanese_references_are_japanese_pages(name: str) -> None:
    for reference in runbook(name).references:
        assert not reference.url_ja or JAPANESE_PAGE.search(reference.url_ja), reference


@pytest.mark.parametrize(
    ("name", "levels"), [("ses-bounce", ("5%", "10%")), ("ses-complaint", ("0.1%", "0.5%"))]
)
def test_each_ses_level_is_a_cited_fact(name: str, levels: tuple[str, ...]) -> None:
    facts = runbook(name).facts
    for level in levels:
        assert any(f"{level} or more" in fact.en and f"{level} 以上" in fact.ja for fact in facts), level


SES_LEVEL = r"(?:10|5|0\.5|0\.1) ?%"
WRONG_LEVEL_WORDING = (
    re.compile(rf"(?:over|above|exceed(?:s|ing)?|more than|higher than)\s+{SES_LEVEL}", re.IGNORECASE),
    re.compile(rf"{SES_LEVEL}\s*を超え"),
)


@pytest.mark.parametrize("name", EVERY_RUNBOOK)
def test_aws_levels_are_reached_at_the_figure_not_above_it(name: str) -> None:
    """AWS acts at 5 % *or more*: "over 10 %" or "10% を超える" tells a sender at 10.0 % they are safe."""
    for language in LANGUAGES:
        for text in _texts(name, language):
            for pattern in WRONG_LEVEL_WORDING:
                assert not pattern.search(text), f"{name}/{language}: {text!r}"


@pytest.mark.parametrize("name", EVERY_RUNBOOK)
def test_the_japanese_uses_the_agreed_terms(name: str) -> None:
    for text in _texts(name, "ja"):
        assert "保護観察" not in text, f"{name}: probation is the older name of the review (審査期間)"
        assert "評価指標" not in text, f"{name}: the console says 評価メトリクス"
        assert "レビュー期間" not in text and "レビュー中" not in text, f"{name}: say 審査期間"
        if "適正利用規約" in text:
            assert "AWS 適正利用規約（AUP）" in text, f"{name}: {text!r}"
        assert not re.search(r"キー.{0,12}無効化", text), f"{name}: a key is 非アクティブ化, not 無効化"


SENTENCE_END = re.compile(r"(?:です|ます|ません|ください|でした|ました)$")


@pytest.mark.parametrize("name", EVERY_RUNBOOK)
def test_the_japanese_is_desu_masu_throughout(name: str) -> None:
    book = runbook(name)
    texts = [
        book.cause["ja"],
        book.if_ignored["ja"],
        *(step.ja for step in book.steps),
        *(f.ja for f in book.facts),
    ]
    for text in texts:
        for sentence in filter(str.strip, text.split("。")):
            core = re.sub(r"（[^（）]*）$", "", sentence.strip())
            assert SENTENCE_END.search(core), f"{name}: not です・ます: {sentence!r}"


@pytest.mark.parametrize("name", SES_RUNBOOKS)
def test_ses_runbooks_name_the_review_and_the_pause_as_aws_does(name: str) -> None:
    japanese = " ".join(_texts(name, "ja"))
    assert "審査期間" in japanese and "一時停止" in japanese, name
    assert not re.search(r"送信(?:が|を)?停止", japanese), f"{name}: an SES pause is 一時停止"
    reply = next(step for step in runbook(name).steps if step.key in ("reply-review-case", "request-review"))
    assert "after the changes are made" in reply.en.lower() and "実施した後" in reply.ja, reply


@pytest.mark.parametrize("name", ["ses-bounce", "ses-complaint", "ses-review"])
def test_probation_is_named_as_the_older_name_of_the_review(name: str) -> None:
    assert "審査期間（旧称: Probation）" in runbook(name).if_ignored["ja"]
    assert "probation" in runbook(name).if_ignored["en"].lower()


@pytest.mark.parametrize("name", ["ses-bounce", "ses-complaint"])
def test_no_invented_review_window(name: str) -> None:
    """The 14 days belong to the vulnerable-site review; the 2,700,000 mails to one account's notice."""
    book = runbook(name)
    for language in LANGUAGES:
        text = " ".join(_texts(name, language))
        assert "2,700,000" not in text and "14" not in text, f"{name}/{language}"
    assert "AWS decides" in book.if_ignored["en"] and "AWS が決め" in book.if_ignored["ja"]


def _keys(name: str) -> list[str]:
    return [step.key for step in runbook(name).steps]


def test_every_ses_runbook_holds_bulk_sending() -> None:
    for name in ("ses-bounce", "ses-complaint", "ses-review"):
        assert "pause-bulk-sends" in _keys(name), name


def test_the_compromised_runbook_knows_what_the_quarantine_policy_does() -> None:
    book = runbook("account-compromised")
    text = book.if_ignored["en"]
    for needed in (
        "V4",
        "not the whole account",
        "does not protect existing data",
        "cloudtrail:LookupEvents",
        "iam:UpdateAccessKey",
        "another administrator",
        "Do not remove",
    ):
        assert needed in text, needed
    for language in LANGUAGES:
        assert "removes it once" not in " ".join(_texts("account-compromised", language))
    assert "非アクティブ化" in book.if_ignored["ja"] and "別の管理者" in book.if_ignored["ja"]


def test_the_compromised_runbook_has_the_steps_aws_lists() -> None:
    keys = _keys("account-compromised")
    for key in (
        "use-unquarantined-admin",
        "credential-report",
        "check-organizations",
        "remove-unknown-resources",
    ):
        assert key in keys, key
    # Investigation needs cloudtrail:LookupEvents, which the quarantine policy denies to the leaked principal.
    assert keys.index("use-unquarantined-admin") < keys.index("review-cloudtrail")
    assert keys.index("use-unquarantined-admin") < keys.index("deactivate-key")
    remove = next(
        step for step in runbook("account-compromised").steps if step.key == "remove-unknown-resources"
    )
    assert (
        "Delete (not only stop)" in remove.en and "snapshot" in remove.en and "スナップショット" in remove.ja
    )


def test_the_abuse_runbook_has_the_steps_aws_lists() -> None:
    keys = _keys("abuse-report")
    assert {"check-address-still-ours", "not-abusive-say-why"} <= set(keys)
    reply = next(step for step in runbook("abuse-report").steps if step.key == "reply-to-aws")
    assert "stopped and since when" in reply.en and "more time" in reply.en
    assert "AWS Trust & Safety チーム" in runbook("abuse-report").cause["ja"]
    assert "48" not in " ".join(_texts("abuse-report", "en"))


@pytest.mark.parametrize("name", TYPE_RUNBOOKS)
def test_abuse_types_read_the_24_hour_clock_and_the_reminder_as_aws_does(name: str) -> None:
    for language in LANGUAGES:
        text = runbook(name).if_ignored[language]
        assert "24" in text and "48" not in text, f"{name}/{language}"


def test_the_vulnerable_site_runbook_rotates_smtp_credentials_and_reviews_the_console() -> None:
    steps = {step.key: step for step in runbook("ses-vulnerable-site").steps}
    assert "review-console-access" in steps
    assert "SMTP" in steps["check-credentials"].en and "IAM" in steps["check-credentials"].en


def test_the_account_hold_runbook_says_what_is_needed_without_threats() -> None:
    book = runbook("account-hold")
    for language in LANGUAGES:
        text = " ".join(_texts("account-hold", language))
        assert "terminat" not in text and "deleted" not in text and "削除されることがあります" not in text
    assert "payment method" in book.if_ignored["en"] and "verification" in book.if_ignored["en"]


def test_docs_list_every_fact_with_its_source() -> None:
    page = (Path(__file__).parent.parent / "docs" / "runbooks.md").read_text("utf-8")
    for name in EVERY_RUNBOOK:
        for fact in runbook(name).facts:
            assert fact.url in page, f"docs/runbooks.md does not cite {fact.url} ({name})"
            assert not fact.url_ja or fact.url_ja in page, f"docs/runbooks.md does not cite {fact.url_ja}"


def test_an_unknown_runbook_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        runbook("no-such-runbook")


def test_the_owner_summaries_state_the_same_facts() -> None:
    """The summaries' "what it means" lines (replies/data/kinds.toml) repeat no retired figure or threat."""
    import tomllib
    from importlib import resources

    kinds = tomllib.loads(
        resources.files("noticedesk.replies").joinpath("data/kinds.toml").read_text("utf-8")
    )
    for kind, entry in kinds.items():
        if not isinstance(entry, dict) or "means_en" not in entry:
            continue
        for text in (entry["means_en"], entry["means_ja"]):
            for pattern in WRONG_LEVEL_WORDING:
                assert not pattern.search(text), f"{kind}: {text!r}"
            for retired in ("terminated", "warns again", "48", "保護観察", "再警告", "limits the account"):
                assert retired not in text, f"{kind}: {text!r}"
    assert (
        "5 % or more" in kinds["ses-bounce"]["means_en"] and "10 % or more" in kinds["ses-bounce"]["means_en"]
    )
    assert "payment method" in kinds["account-hold"]["means_en"]
