"""The authenticity data files, walked: every kind has signers, every reason both languages,
every reason the code can give exists; the keys file format; the corpus verdicts."""

from __future__ import annotations

import json
import os
import re
import string
from pathlib import Path

import dns.resolver
import pytest

from noticedesk.authenticity import assess
from noticedesk.authenticity.keys import DnsKeys, key_lookup_for, parse_keys_file
from noticedesk.authenticity.knowledge import auth_policy
from noticedesk.config import Config, DkimConfig
from noticedesk.errors import ConfigError
from noticedesk.mail.forwarded import original_of
from noticedesk.mail.parse import parse_bytes
from noticedesk.notices.classify import classify
from noticedesk.notices.model import Kind

PACKAGE = Path(__file__).parents[1] / "noticedesk" / "authenticity"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_kind_has_a_signer_list_and_amazonses_vouches_for_none() -> None:
    policy = auth_policy()
    for kind in Kind:
        assert kind.value in policy.dkim_domains, kind
        assert not any(d.endswith("amazonses.com") for d in policy.signers_for(kind.value))
    assert policy.signers_for("not-aws", ("extra.example",)) == ()


def test_every_reason_has_both_languages_with_matching_placeholders() -> None:
    for code, template in auth_policy().reasons.items():
        assert template.en.strip() and template.ja.strip(), code
        english = {name.removesuffix("_ja") for name in _fields(template.en)}
        japanese = {name.removesuffix("_ja") for name in _fields(template.ja)}
        assert english == japanese, code


def test_every_reason_code_the_code_gives_is_in_the_data() -> None:
    source = (PACKAGE / "verdict.py").read_text(encoding="utf-8")
    used = set(re.findall(r'(?:self|say)\(\s*"([a-z-]+)"', source))
    assert used >= {"dkim-aligned", "lookalike", "no-signature", "forwarded-inline"}
    assert used <= set(auth_policy().reasons), used - set(auth_policy().reasons)


def test_bait_rules_have_known_categories_and_both_languages() -> None:
    categories = {rule.category for rule in auth_policy().bait}
    assert categories == {"urgency", "payment", "credentials"}
    assert all(rule.en and rule.ja for rule in auth_policy().bait)


@pytest.mark.parametrize(
    ("domain", "organisational"),
    [
        ("sns.amazonaws.com", "amazonaws.com"),
        ("amazon.co.jp", "amazon.co.jp"),
        ("mail.amazon.co.jp", "amazon.co.jp"),
        ("signin.aws", "signin.aws"),
        ("support.aws.com", "aws.com"),
    ],
)
def test_organisational_domain(domain: str, organisational: str) -> None:
    assert auth_policy().organisational_domain(domain) == organisational


def test_keys_file_format() -> None:
    keys = parse_keys_file(
        "# pinned keys\n\n"
        "S1._domainkey.Amazon.com.  v=DKIM1; k=rsa; p=AAAA\n"
        's2._domainkey.aws.com "v=DKIM1; k=rsa; " "p=BBBB"\n'
    )
    assert keys("s1._domainkey.amazon.com").record == b"v=DKIM1; k=rsa; p=AAAA"
    assert keys("s2._domainkey.aws.com.").record == b"v=DKIM1; k=rsa; p=BBBB"
    missing = keys("s3._domainkey.aws.com")
    assert missing.record is None and "no pinned key" in (missing.problem or "")
    with pytest.raises(ConfigError, match=":2:"):
        parse_keys_file("s1._domainkey.amazon.com v=DKIM1\nnot-a-key-line\n", "keys")


def test_missing_keys_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="keys_file"):
        key_lookup_for(DkimConfig(keys_file=tmp_path / "absent.txt"))


def _corpus() -> Path:
    candidates = [
        os.environ.get("NOTICEDESK_CORPUS", ""),
        str(Path(__file__).parents[2] / "shared" / "corpus"),
        "/work/shared/corpus",
    ]
    for candidate in candidates:
        if candidate and Path(candidate, "labels.json").is_file():
            return Path(candidate)
    raise AssertionError(f"calibration corpus not found in {candidates}")


def test_corpus_verdicts() -> None:
    """No corpus mail carries a signature: none is verified; the phishing samples are suspicious
    and no genuine notice is."""
    corpus = _corpus()
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))
    seen = 0
    for path in sorted(corpus.glob("*.eml")):
        message, outer = parse_bytes(path.read_bytes(), path.name)
        original = original_of(message, outer)
        kind = classify(original).kind.value
        verdict = assess(path.read_bytes(), message, outer, original, kind, Config())
        expected = labels.get(path.name, {}).get("auth")
        assert verdict.authenticity.value != "verified", path.name
        if expected == "suspicious":
            assert verdict.authenticity.value == "suspicious", path.name
        else:
            assert verdict.authenticity.value == "unverified", (path.name, verdict.reasons_en)
        seen += 1
    assert seen >= 10


def test_default_dns_resolver_reads_txt_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    class Record:
        strings = (b"v=DKIM1; k=rsa; ", b"p=AAAA")

    asked: list[tuple[str, float]] = []

    def resolve(name: str, rdtype: str, lifetime: float, search: bool) -> list[Record]:
        asked.append((name, lifetime))
        return [Record()]

    monkeypatch.setattr(dns.resolver, "resolve", resolve)
    lookup = key_lookup_for(DkimConfig(dns_timeout_seconds=1.5))
    assert lookup("s1._domainkey.amazon.com.").record == b"v=DKIM1; k=rsa; p=AAAA"
    assert asked == [("s1._domainkey.amazon.com", 1.5)]


def test_other_dns_failures_are_named_not_raised() -> None:
    def broken(name: str, timeout: float) -> list[bytes]:
        raise dns.resolver.NoNameservers()

    answer = DnsKeys(resolver=broken)("s1._domainkey.amazon.com")
    assert answer.record is None and "NoNameservers" in (answer.problem or "")
