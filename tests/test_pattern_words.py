"""The one module on ``re``'s private parser: it fails loudly here when a Python release changes it."""

from __future__ import annotations

import re
import types
from typing import Any

import pytest

from noticedesk.notices import pattern_words
from noticedesk.notices.needles import Matcher, Text
from noticedesk.notices.pattern_words import needles_of, starts_of


def test_this_python_has_the_parser_shapes_the_words_are_read_from() -> None:
    assert pattern_words.AVAILABLE, (
        "re._parser / re._constants changed in this Python: notices/pattern_words.py reads no words "
        "(every rule pattern runs in full, slower); update it for the new shapes"
    )
    assert needles_of(r"\bspam\b|unsolicited (bulk )?e-?mail", re.IGNORECASE) == ("spam", "unsolicited ")
    assert starts_of(r"\b((?:akia|asia)[a-z0-9]{16})\b", re.IGNORECASE) == ("akia", "asia")


def _with_modules(parse: Any) -> types.SimpleNamespace:
    """An ``importlib`` whose ``re._parser`` parses as ``parse`` does, opcodes as this Python's."""
    real_ops = __import__("re._constants", fromlist=["LITERAL"])
    modules = {"re._parser": types.SimpleNamespace(parse=parse), "re._constants": real_ops}
    return types.SimpleNamespace(import_module=lambda name: modules[name])


@pytest.mark.parametrize(
    "parse",
    [
        lambda pattern, flags: [("literal", 97)],  # other shapes
        lambda pattern, flags: iter(()),  # nothing
        lambda pattern, flags: 1 / 0,  # a failure of its own
    ],
)
def test_a_parser_of_other_shapes_is_not_read(monkeypatch: pytest.MonkeyPatch, parse: Any) -> None:
    monkeypatch.setattr(pattern_words, "importlib", _with_modules(parse))
    assert pattern_words._private_parser() is None


def test_a_python_without_the_private_parser_runs_every_pattern_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pattern_words, "AVAILABLE", False)
    pattern = r"\bspam\b|unsolicited (bulk )?e-?mail"
    assert needles_of(pattern, re.IGNORECASE) == () and starts_of(pattern, re.IGNORECASE) == ()
    matcher = Matcher.compile(pattern, re.IGNORECASE)
    for text in ("Unsolicited bulk email from your host", "SPAM", "nothing to see", "spammer"):
        assert matcher.found(Text(text)) == (matcher.regex.search(text) is not None)
