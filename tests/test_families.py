"""Paraphrase families: every voice of a wording family is read the same way, by meaning.

Each family (tests/data/families/*.toml; where each was seen: tests/data/README) is written
three times: a terse template, a chatty support engineer, a colleague's Japanese forward
(Outlook style "転送:", ISO-2022-JP or Shift_JIS). All three must give the family's kind, stage,
abuse types and the facts it names.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from families import Family, Voice, families, mail_of
from triage_helpers import notice_of

from noticedesk.notices.model import ABUSE_TYPES, Kind, Stage

FAMILIES = families()
VOICES = [(family, voice) for family in FAMILIES for voice in family.voices]


def _fact(value: object) -> object:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize(("family", "voice"), VOICES, ids=[voice.label for _, voice in VOICES])
def test_every_voice_reads_as_its_family_means(family: Family, voice: Voice) -> None:
    notice = notice_of(mail_of(voice))
    assert (notice.kind.value, notice.stage.value) == (family.kind, family.stage)
    assert notice.facts.abuse_types == family.abuse_types
    got = {name: _fact(getattr(notice.facts, name)) for name in family.facts}
    assert got == family.facts


def test_every_family_has_three_voices_one_a_japanese_forward() -> None:
    for family in FAMILIES:
        names = [voice.name for voice in family.voices]
        assert {"terse", "chatty", "ja-forward"} <= set(names), family.name
        forwards = [voice for voice in family.voices if voice.forwarder]
        assert forwards and all(voice.charset in ("iso-2022-jp", "shift_jis") for voice in forwards)
        assert family.meaning


def test_the_families_cover_every_abuse_type_and_stage_and_case_kind() -> None:
    abuse = {kind for family in FAMILIES for kind in family.abuse_types}
    assert set(ABUSE_TYPES) - {"prohibited-content", "other"} <= abuse  # those two: tests/data/mails
    stages = {family.stage for family in FAMILIES}
    assert {stage.value for stage in Stage} - {"early-warning"} <= stages  # NoticeDesk's own stage
    kinds = {family.kind for family in FAMILIES}
    case_kinds = {kind.value for kind in Kind if kind.opens_case}
    assert case_kinds <= kinds


def test_the_japanese_forwards_are_encoded_as_japanese_mail_programs_send_them() -> None:
    charsets = {voice.charset for _, voice in VOICES if voice.forwarder}
    assert charsets == {"iso-2022-jp", "shift_jis"}
    raw = mail_of(next(voice for _, voice in VOICES if voice.charset == "iso-2022-jp"))
    assert raw.isascii() and b"\x1b$B" in raw  # JIS escape sequences, not UTF-8
