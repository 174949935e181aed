"""The shortcuts in front of the rule table's patterns never change what a pattern finds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from triage_helpers import MAILS, original

from noticedesk.authenticity.bait import matcher_for
from noticedesk.authenticity.knowledge import auth_policy
from noticedesk.notices.needles import Matcher, Text
from noticedesk.notices.pattern_words import needles_of
from noticedesk.notices.rules import rule_table
from noticedesk.notices.scanner import Scanner


def _matchers() -> list[Matcher]:
    table = rule_table()
    found = [m for rule in (*table.kinds, *table.stages) for m in (rule.subject, rule.body, rule.sender) if m]
    found += [entry.pattern for entry in (*table.abuse_types, *table.mitigations)]
    found += [matcher for matchers in table.facts.values() for matcher in matchers]
    found += [matcher_for(rule.pattern) for rule in auth_policy().bait]  # authenticity's bait patterns
    return found


MATCHERS = _matchers()
SCANNER = Scanner(MATCHERS)  # every pattern above in one Hyperscan database
FACTS = [matcher for matchers in rule_table().facts.values() for matcher in matchers]
# Words from the patterns themselves, so that generated texts do match now and then.
WORDS = sorted({needle for matcher in MATCHERS for needle in matcher.needles} | {"AKIA2E0A8F3B244C9986"})
TOKENS = st.sampled_from(
    [
        *WORDS,
        " ",
        "\n",
        ": ",
        "12.5%",
        "111122223333",
        "i-0a1b2c3d",
        "54.1.2.3",
        "2026-12-01",
        "ı",
        "ſ",
        "K",
        "İ",
    ]
)


def _same(matcher: Matcher, text: str) -> None:
    expected = matcher.regex.search(text) is not None
    scanned = Text(text, SCANNER)
    assert (matcher.search(Text(text)) is not None) == expected, matcher.pattern
    assert (matcher.search(scanned) is not None) == expected, matcher.pattern
    assert matcher.found(scanned) == expected, matcher.pattern  # Hyperscan's answer, when it has one
    if matcher in FACTS:
        values = [match.group(1) for match in matcher.regex.finditer(text)]
        assert list(matcher.values(Text(text))) == values, matcher.pattern
        assert list(matcher.values(scanned)) == values, matcher.pattern


def test_every_fixture_text_finds_the_same_with_and_without_shortcuts() -> None:
    for path in sorted(MAILS.glob("*.eml")):
        mail = original(path.read_bytes())
        for text in (mail.subject, mail.text, " ".join(mail.text.split()), mail.from_domain):
            for matcher in MATCHERS:
                _same(matcher, text)


@given(st.lists(TOKENS, max_size=40).map("".join), st.sampled_from([str.lower, str.upper, str.title, str]))
@settings(max_examples=400, deadline=None)
def test_generated_texts_find_the_same(text: str, case: object) -> None:
    cased = case(text)  # type: ignore[operator]
    for matcher in MATCHERS:
        _same(matcher, cased)


def test_needles_are_read_from_the_pattern() -> None:
    assert needles_of(r"\bspam\b|unsolicited (bulk )?e-?mail", re.IGNORECASE) == ("spam", "unsolicited ")
    assert needles_of(r"[a-z]+\d", re.IGNORECASE) == ()  # nothing certain: no shortcut
    assert needles_of(r"(?:an? )?report (?:closed|resolved)", re.IGNORECASE) == (
        "report ",
    )  # the most selective element


def test_case_sensitive_patterns_keep_their_case() -> None:
    matcher = Matcher.compile(r"(?-i:IAM) user", re.IGNORECASE)
    assert matcher.twin is None
    assert matcher.search("iam user") is None and matcher.search("IAM User") is not None


def test_top_level_alternations_are_asked_branch_by_branch() -> None:
    matcher = Matcher.compile(r"urgent|within \d+ hours? or|[|]x(a|b)", re.IGNORECASE)
    assert [branch.pattern for branch in matcher.branches] == ["urgent", r"within \d+ hours? or", "[|]x(a|b)"]
    assert matcher.search("Reply WITHIN 24 hours or else") is not None
    assert matcher.search("|xB") is not None and matcher.search("reply within 24 hours.") is None
    assert Matcher.compile(r"(a)|\1", re.IGNORECASE).branches == ()  # a back reference: not split


def test_words_every_match_starts_with() -> None:
    from noticedesk.notices.pattern_words import starts_of

    assert starts_of(r"\b(i-(?:[0-9a-f]{17}|[0-9a-f]{8}))\b", re.IGNORECASE) == ("i-",)
    assert starts_of(r"(?:public ip|ip)\s*(\d+)", re.IGNORECASE) == ("ip", "public ip")
    assert starts_of(r"^\s*(\d+)", re.IGNORECASE) == ()  # no word: every position is tried
    assert starts_of(r"\b((?:akia|asia)[a-z0-9]{16})\b", re.IGNORECASE) == ("akia", "asia")  # "a" + (kia|sia)
    matcher = Matcher.compile(r"\b(i-[0-9a-f]{8})\b", re.IGNORECASE)
    assert list(matcher.values(Text("xi-0123abcd i-0123ABCD, I-89abcdef"))) == ["i-0123ABCD", "I-89abcdef"]


def test_region_codes_are_found_as_a_scan_finds_them() -> None:
    from noticedesk.notices.extract import _REGION_CODE, region_codes

    texts = [
        "us-gov-west-1,eu-central-1 xus-east-1 ap-northeast-3us-east-2 me-south-1.",
        "US-EAST-1 sa-east-",
        "-east-1 s-east-1 us-gov-east-1us-gov-west-2 cn-north-1\nil-central-1",
    ]
    texts += [original(path.read_bytes()).text for path in sorted(MAILS.glob("*.eml"))]
    for text in texts:
        expected = [match.group(1) for match in _REGION_CODE.finditer(text)]
        assert region_codes(text) == expected


def test_upper_case_letters_are_lowered_for_the_twin_but_not_ranges_across_cases() -> None:
    assert Matcher.compile(r"\bC&C\b|[A-Z]{2}\d", re.IGNORECASE).twin is not None
    matcher = Matcher.compile(r"x[A-z]", re.IGNORECASE)
    assert matcher.twin is None and matcher.search("x_") is not None


def test_the_scanner_answers_for_most_patterns_and_leaves_the_rest_to_re() -> None:
    covered = [matcher for matcher in MATCHERS if SCANNER.covers(matcher)]
    assert len(covered) >= 0.8 * len(MATCHERS)  # else the speed is silently gone
    refused = Matcher.compile(r"(ab)\1", re.IGNORECASE)  # a back reference: Hyperscan has none
    read_differently = Matcher.compile(r"ab{,2}c", re.IGNORECASE)  # {,2}: a literal to Hyperscan
    optional_letter = Matcher.compile(r"ー?abc", re.IGNORECASE)  # byte by byte, not optional as a whole
    posix_class = Matcher.compile(r"x[a[:alpha:]]", re.IGNORECASE)  # a POSIX class to Hyperscan only
    colon_class = Matcher.compile(r"id[:#]\s*(\d+)", re.IGNORECASE)  # an ordinary class: scanned
    scanner = Scanner([refused, read_differently, optional_letter, posix_class, colon_class])
    assert not any(
        scanner.covers(matcher) for matcher in (refused, read_differently, optional_letter, posix_class)
    )
    assert scanner.covers(colon_class) and colon_class.found(Text("ID: 12", scanner))
    assert refused.found(Text("xABab", scanner)) and read_differently.found(Text("ABBC", scanner))
    assert optional_letter.found(Text("ABC", scanner))


def test_texts_the_engines_read_differently_are_left_to_re() -> None:
    matcher = Matcher.compile(r"spam\s+report", re.IGNORECASE)
    scanner = Scanner([matcher])
    assert scanner.covers(matcher)
    assert Text("SPAM  report", scanner).scanned(matcher) is True
    assert Text("spam-report", scanner).scanned(matcher) is False
    # re counts \x1c as whitespace and Hyperscan does not; outside ASCII \w and \b differ.
    for text in ("spam\x1creport", "spam report é"):
        assert Text(text, scanner).scanned(matcher) is None
    assert matcher.found(Text("spam\x1creport", scanner))


def test_classify_finds_the_same_with_and_without_the_scanner() -> None:
    from noticedesk.notices.classify import classify

    scanned, plain = rule_table(), rule_table(scan=False)
    assert not any(scanner.covered for scanner in plain.scanners.values())
    assert all(scanner.covered for scanner in scanned.scanners.values())
    for path in sorted(MAILS.glob("*.eml")):
        mail = original(path.read_bytes())
        assert classify(mail, scanned) == classify(mail, plain), path.name


@given(
    st.lists(st.sampled_from(["us", "-gov", "-", "east", "north", "west", "-1", "2", "eu", "x", " ", "\n"]))
)
@settings(max_examples=300, deadline=None)
def test_generated_region_codes_are_found_as_a_scan_finds_them(parts: list[str]) -> None:
    from noticedesk.notices.extract import _REGION_CODE, region_codes

    text = "".join(parts)
    assert region_codes(text) == [match.group(1) for match in _REGION_CODE.finditer(text)]


def test_compiled_databases_are_kept_on_disk_and_a_damaged_one_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from noticedesk.notices import scanner as scanning

    monkeypatch.setenv("NOTICEDESK_CACHE_DIR", str(tmp_path))
    patterns = [Matcher.compile(r"abuse report|\bspam\b", re.IGNORECASE), Matcher.compile(r"(ab)\1", 0)]
    first = Scanner(patterns)
    assert first.covers(patterns[0]) and not first.covers(patterns[1])
    (saved,) = tmp_path.glob("scanner-*.hsdb")

    def no_compiling(expressions: object) -> None:
        raise AssertionError("compiled although cached")

    with monkeypatch.context() as patched:
        patched.setattr(scanning, "_compile", no_compiling)
        again = Scanner([Matcher.compile(r"abuse report|\bspam\b", re.IGNORECASE)])
        assert again.matched("an abuse report") and not again.matched("spammer")
    damaged = bytearray(saved.read_bytes())
    damaged[-5] ^= 0xFF  # Hyperscan would load this without a word: the checksum refuses it
    saved.write_bytes(bytes(damaged))
    rebuilt = Scanner([Matcher.compile(r"abuse report|\bspam\b", re.IGNORECASE)])
    assert rebuilt.matched("no spam here") and not rebuilt.matched("an abuse-report")
    assert saved.read_bytes() != bytes(damaged)  # written anew


def test_an_unwritable_cache_folder_costs_only_the_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("NOTICEDESK_CACHE_DIR", str(blocked / "cache"))
    matcher = Matcher.compile(r"vulnerable site", re.IGNORECASE)
    assert Scanner([matcher]).covers(matcher)
    assert matcher.found(Text("A VULNERABLE SITE", Scanner([matcher])))


def test_a_case_sensitive_group_is_ruled_out_by_the_scan_and_confirmed_by_re() -> None:
    matcher = Matcher.compile(r"belonging to (?-i:IAM) user (\w+)", re.IGNORECASE)
    assert matcher.twin is None and matcher.loose is not None
    scanner = Scanner([matcher])
    assert scanner.covers(matcher) and id(matcher) not in scanner.exact
    assert Text("nothing here", scanner).scanned(matcher) is False
    assert Text("belonging to iam user bob", scanner).scanned(matcher) is None  # a maybe: re decides
    assert not matcher.found(Text("belonging to iam user bob", scanner))
    assert list(matcher.values(Text("Belonging to IAM user Bob", scanner))) == ["Bob"]


def test_without_the_hyperscan_package_re_answers_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed without the ``fast`` extra: the scanner answers for nothing, every pattern asks ``re``."""
    from noticedesk.notices import scanner as scanning

    monkeypatch.setattr(scanning, "hyperscan", None)
    scanner = Scanner(MATCHERS)
    assert not scanner.covered
    text = Text("Your Amazon EC2 Abuse Report: spam from 54.1.2.3", scanner)
    assert all(text.scanned(matcher) is None for matcher in MATCHERS)
    for matcher in MATCHERS:
        assert matcher.found(text) == (matcher.regex.search(text.value) is not None), matcher.pattern
