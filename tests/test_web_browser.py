"""The dashboard end to end in a real browser (headless Chromium) against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select

from noticedesk.store.tables import cases
from tests.browser import chromium
from tests.web_helpers import PASSWORD, Clock, Seeded, live, seed


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def seeded(sqlite_engine: Engine) -> Seeded:
    return seed(sqlite_engine)


@pytest.fixture
def url(sqlite_engine: Engine, seeded: Seeded) -> Iterator[str]:
    with live(sqlite_engine, Clock()) as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB")
    opened = context.new_page()
    yield opened
    context.close()


def log_in(page: Page, url: str, name: str) -> None:
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/login?next=/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Board")


def test_an_operator_works_a_case_from_the_board(
    page: Page, url: str, seeded: Seeded, sqlite_engine: Engine
) -> None:
    log_in(page, url, "olive")
    row = page.locator(f"table.board tr:has(a[href='/cases/{seeded.verified}'])")
    expect(row.locator("time.countdown")).to_contain_text("4 h 59 min left")  # the script counts down
    row.locator("td a").last.click()
    expect(page.locator("h1")).to_contain_text(f"Case #{seeded.verified}")
    expect(page.locator("p.lead")).to_have_text("<script>alert('x')</script> & <b>bold</b>")  # as text

    item = page.locator("li[data-item='deactivate-key']")
    item.locator("button.tick").click()
    expect(page.locator("li[data-item='deactivate-key']")).to_have_class("done")
    expect(page.locator("li[data-item='deactivate-key']")).to_contain_text("done by olive")

    page.click("text=Plan (dry run)")
    expect(page.locator("p.notice")).to_contain_text("Dry run: nothing was changed")
    expect(page.locator("table")).to_contain_text("ami-0123456789abcdef0")
    page.go_back()

    page.fill("#reply-text", "Hello AWS,\n\nThe image is private now.\n")
    page.click("button[name=do][value=save]")
    expect(page.locator("#reply-text")).to_have_value("Hello AWS,\n\nThe image is private now.\n")
    expect(page.locator("#reply")).to_contain_text("saved by olive")
    page.click("button[name=do][value=sent]")
    expect(page.locator("h1 + p.lead + p")).to_contain_text("replied")
    with sqlite_engine.connect() as connection:
        assert (
            connection.execute(select(cases.c.status).where(cases.c.id == seeded.verified)).scalar()
            == "replied"
        )

    page.click("button[name=lang][value=ja]")
    expect(page.locator("#checklist h2")).to_have_text("チェックリスト")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#timeline")).to_contain_text("JST")  # times in Asia/Tokyo for Japanese


def test_a_post_without_the_csrf_token_is_refused(page: Page, url: str, seeded: Seeded) -> None:
    log_in(page, url, "olive")
    answer = page.request.post(f"{url}/cases/{seeded.verified}/checklist/deactivate-key", form={"done": "1"})
    assert answer.status == 403 and "CSRF" in answer.text()


def test_a_viewer_cannot_apply(page: Page, url: str, seeded: Seeded) -> None:
    log_in(page, url, "vera")
    page.goto(f"{url}/cases/{seeded.verified}")
    apply = page.locator("#actions button[disabled]", has_text="Apply")
    expect(apply).to_be_disabled()
    expect(page.locator("#actions .reason")).to_contain_text("only an admin may apply fixes")
    token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
    answer = page.request.post(
        f"{url}/cases/{seeded.verified}/apply", form={"csrf_token": token, "action": "A-1-1"}
    )
    assert answer.status == 403
    assert page.request.get(f"{url}/cases/{seeded.verified}/apply").status == 403
