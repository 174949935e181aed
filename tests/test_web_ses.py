"""The SES page: the rate chart with AWS's levels, alarms, the suppression list and its CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from noticedesk.feedback.suppressions import find_suppression
from tests.web_helpers import Clock, Session, live, seed, seed_ses


@pytest.fixture
def url(sqlite_engine: Engine) -> Iterator[str]:
    seed(sqlite_engine)
    seed_ses(sqlite_engine)
    with live(sqlite_engine, Clock()) as base:
        yield base
    Session.close_all()


def logged_in(url: str, name: str) -> Session:
    session = Session(url)
    assert session.login(name).status_code == 303
    return session


def test_the_chart_draws_the_rates_and_aws_levels_and_the_alarm_is_listed(url: str) -> None:
    page = logged_in(url, "vera").get("/ses").text
    assert page.count("<svg") == 2 and "<polyline" in page
    assert "AWS review 5.0%" in page and "AWS pause 10.0%" in page  # the bounce levels
    assert "AWS review 0.1%" in page and "AWS pause 0.5%" in page  # the complaint levels
    assert "news.example.com" in page
    alarms = page.split('id="alarms"')[1].split("</section>")[0]
    assert "critical" in alarms and "123456789012" in alarms


def test_the_suppression_list_is_searched_and_exported_safely(url: str) -> None:
    session = logged_in(url, "vera")
    found = session.get("/ses", params={"q": "bounced"}).text
    assert "bounced@example.org" in found and "cmd@example.org" not in found
    exported = session.get("/ses/suppressions.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][0] == "address"
    addresses = [row[0] for row in rows[1:]]
    assert "bounced@example.org" in addresses
    assert "'=cmd@example.org" in addresses  # a formula never reaches a spreadsheet as one
    assert any("added by olive" in row[-1] for row in rows[1:])


def test_an_operator_adds_and_removes_with_a_reason_a_viewer_may_not(url: str, sqlite_engine: Engine) -> None:
    viewer = logged_in(url, "vera")
    form = {"address": "new@example.org", "reason": "asked to stop", "do": "add", "ses_reason": "BOUNCE"}
    assert viewer.post("/ses/suppressions", form).status_code == 403
    operator = logged_in(url, "olive")
    assert operator.post("/ses/suppressions", form, csrf=False).status_code == 403
    assert operator.post("/ses/suppressions", form).status_code == 303
    assert operator.post("/ses/suppressions", {**form, "reason": " "}).status_code == 400
    assert operator.post("/ses/suppressions", {**form, "address": "not-an-address"}).status_code == 400
    removed = {"address": "new@example.org", "reason": "a mistake", "do": "remove"}
    assert operator.post("/ses/suppressions", removed).status_code == 303
    with sqlite_engine.connect() as connection:
        entry = find_suppression(connection, "new@example.org")
    assert entry is not None and entry.suppressed is False
    assert [reason.split(" at ")[0] for reason in entry.reasons] == ["added by olive", "removed by olive"]
