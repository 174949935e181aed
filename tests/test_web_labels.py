"""Every label of the pages exists in English and Japanese, and every label a template names is there."""

from __future__ import annotations

import re
from importlib import resources

from noticedesk.cases.board import STATUSES
from noticedesk.notices.model import Kind
from noticedesk.web.render import labels, value_labels


def test_both_languages_have_the_same_labels_none_empty() -> None:
    table = labels()
    assert set(table) == {"en", "ja"}
    assert set(table["en"]) == set(table["ja"])
    assert all(text.strip() for lang in table.values() for text in lang.values())
    translated = [key for key in table["en"] if table["en"][key] != table["ja"][key]]
    assert len(translated) > 0.9 * len(
        table["en"]
    )  # a label left in English is the exception (the app's name)


def test_every_label_a_template_or_page_uses_exists() -> None:
    folder = resources.files("noticedesk.web")
    used: set[str] = set()
    for entry in folder.joinpath("templates").iterdir():
        used |= set(re.findall(r"\bt\.(\w+)", entry.read_text("utf-8")))
    for module in ("pages.py", "ses.py", "views.py", "case_actions.py"):
        for line in folder.joinpath(module).read_text("utf-8").splitlines():
            if "words[" in line or "labels()[" in line:
                used |= set(re.findall(r'\["(\w+)"\]', line))
    used.discard("get")
    missing = used - set(labels()["en"])
    assert not missing, missing
    assert len(used) > 80


def test_every_kind_status_and_verdict_has_a_japanese_name() -> None:
    values = value_labels()
    assert set(values["en"]) == set(values["ja"])
    codes = {kind.value for kind in Kind} | set(STATUSES) | {"verified", "unverified", "suspicious", "failed"}
    assert codes <= set(values["ja"])
    assert all(values["en"][code] == code for code in values["en"])  # English shows the code itself
