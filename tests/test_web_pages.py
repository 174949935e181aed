"""The dashboard over a live server: login, sessions, CSRF, roles, and what each page does."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, select

from noticedesk.store.tables import case_events, cases, checklist_items
from noticedesk.users import set_password
from tests.web_helpers import NOW, PASSWORD, Clock, Seeded, Session, csrf_of, live, seed


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock()
    Session.close_all()


@pytest.fixture
def seeded(sqlite_engine: Engine) -> Seeded:
    return seed(sqlite_engine)


@pytest.fixture
def url(sqlite_engine: Engine, seeded: Seeded, clock: Clock) -> Iterator[str]:
    with live(sqlite_engine, clock) as base:
        yield base


def logged_in(url: str, name: str) -> Session:
    session = Session(url)
    assert session.login(name).status_code == 303
    return session


def events(engine: Engine, case_id: int, type_: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(case_events.c.actor, case_events.c.summary).where(
                case_events.c.case_id == case_id, case_events.c.type == type_
            )
        ).all()
    return [(row.actor, row.summary) for row in rows]


def test_every_page_needs_a_login_and_the_api_answers_401(url: str, seeded: Seeded) -> None:
    anonymous = Session(url)
    for path in ("/", f"/cases/{seeded.verified}", f"/cases/{seeded.verified}/reply.eml"):
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    assert anonymous.get("/api/ses/suppressed/a@example.org").status_code == 401


def test_login_sets_a_hardened_cookie_and_every_answer_has_the_security_headers(url: str) -> None:
    session = Session(url)
    answer = session.login("vera")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would never come back
    board = session.get("/")
    assert board.status_code == 200
    policy = board.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    )
    assert board.headers["x-content-type-options"] == "nosniff"
    assert board.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in board.text.replace('<script src="/static/app.js" defer></script>', "")


def test_wrong_passwords_are_refused_then_throttled(url: str, caplog: pytest.LogCaptureFixture) -> None:
    session = Session(url)
    with caplog.at_level(logging.WARNING, "noticedesk.web"):
        for _ in range(5):
            assert session.login("vera", "not the password").status_code == 401
    failed = [r for r in caplog.records if r.getMessage() == "login failed"]
    assert len(failed) == 5 and failed[0].user == "vera" and "not the password" not in caplog.text  # type: ignore[attr-defined]
    assert session.login("vera").status_code == 429  # even the right one, until the window passed
    assert Session(url).login("olive").status_code == 303  # another name from the same address
    for attempt in range(16):  # one address guessing at many names stops at 4 x 5 failures
        answer = Session(url).login(f"guess{attempt}", "whatever is typed")
        assert answer.status_code == (401 if attempt < 15 else 429)


def test_login_without_the_csrf_token_is_refused(url: str) -> None:
    session = Session(url)
    session.get("/login")
    answer = session.client.post("/login", data={"username": "vera", "password": "correct horse battery"})
    assert answer.status_code == 403


def test_a_session_ends_when_idle_too_long_or_the_password_changes(
    url: str, clock: Clock, sqlite_engine: Engine
) -> None:
    session = logged_in(url, "vera")
    clock.advance(minutes=29)
    assert session.get("/").status_code == 200  # each request re-signs the cookie
    clock.advance(minutes=29)
    assert session.get("/").status_code == 200
    clock.advance(minutes=31)
    assert session.get("/").status_code == 303
    again = logged_in(url, "vera")
    set_password(sqlite_engine, "vera", "another long password", clock())
    assert again.get("/").status_code == 303


def test_the_board_lists_open_cases_by_deadline_and_filters_them(url: str, seeded: Seeded) -> None:
    session = logged_in(url, "vera")
    board = session.get("/").text
    assert 'class="countdown"' in board and f'href="/cases/{seeded.verified}"' in board
    assert "&lt;script&gt;" in board and "<script>alert" not in board  # titles are escaped
    verified = session.get("/", params={"q": "alert"}).text
    assert f'href="/cases/{seeded.verified}"' in verified and verified.count('href="/cases/') == 2
    abuse = session.get("/", params={"kind": "abuse-report"}).text
    assert f'href="/cases/{seeded.verified}"' not in abuse and "abuse-report</td>" in abuse


def test_the_case_page_shows_clocks_findings_reply_summary_and_the_escaped_raw_notice(
    url: str, seeded: Seeded
) -> None:
    session = logged_in(url, "vera")
    sample = seeded.cases[0]
    page = session.get(f"/cases/{sample}").text
    for section in (
        'id="clocks"',
        'id="facts"',
        'id="authenticity"',
        'id="checklist"',
        'id="reply"',
        'id="summary"',
        'id="timeline"',
        'id="raw"',
    ):
        assert section in page
    assert "Received:" in page or "From:" in page  # the raw notice with its headers
    assert ">Copy<" in page and "built-in method" not in page  # t.copy is the label, not dict.copy
    diagnosed = session.get(f"/cases/{seeded.verified}").text
    assert "ami-0123456789abcdef0" in diagnosed and "&lt;script&gt;" in diagnosed
    # a viewer sees the apply button disabled with the reason
    assert "only an admin may apply fixes" in diagnosed
    assert session.get("/cases/999999").status_code == 404


def test_ticking_the_checklist_needs_the_csrf_token_and_an_operator(
    url: str, seeded: Seeded, sqlite_engine: Engine
) -> None:
    path = f"/cases/{seeded.verified}/checklist/deactivate-key"
    operator = logged_in(url, "olive")
    assert operator.post(path, {"done": "1"}, csrf=False).status_code == 403
    assert operator.post(path, {"done": "1", "csrf_token": "forged"}, csrf=False).status_code == 403
    assert logged_in(url, "vera").post(path, {"done": "1"}).status_code == 403
    assert operator.post(path, {"done": "1"}).status_code == 303
    with sqlite_engine.connect() as connection:
        done_by = connection.execute(
            select(checklist_items.c.done_by).where(
                checklist_items.c.case_id == seeded.verified, checklist_items.c.item_key == "deactivate-key"
            )
        ).scalar()
    assert done_by == "olive"
    assert ("olive", "done: deactivate-key") in events(sqlite_engine, seeded.verified, "checklist")
    assert operator.post(path, {"done": "0"}).status_code == 303
    assert ("olive", "reopened: deactivate-key") in events(sqlite_engine, seeded.verified, "checklist")


def test_plan_is_a_dry_run_and_only_an_admin_may_apply(
    url: str, seeded: Seeded, sqlite_engine: Engine
) -> None:
    operator = logged_in(url, "olive")
    result = operator.post(f"/cases/{seeded.verified}/plan")
    assert result.status_code == 200 and "Dry run" in result.text and "ami-0123456789abcdef0" in result.text
    assert operator.get(f"/cases/{seeded.verified}/apply").status_code == 403
    assert operator.post(f"/cases/{seeded.verified}/apply").status_code == 403
    admin = logged_in(url, "alice")
    confirm = admin.get(f"/cases/{seeded.verified}/apply")
    assert confirm.status_code == 200
    assert "ec2.modify_image_attribute" in confirm.text.lower() or "ModifyImageAttribute" in confirm.text
    with sqlite_engine.connect() as connection:
        statuses = set(
            connection.execute(select(cases.c.status).where(cases.c.id == seeded.verified)).scalars()
        )
    assert statuses == {"new"}  # nothing applied by looking


def test_apply_on_an_unverified_notice_is_disabled_with_its_reason(url: str, seeded: Seeded) -> None:
    admin = logged_in(url, "alice")
    for case_id in seeded.cases:
        page = admin.get(f"/cases/{case_id}").text
        if 'badge a-unverified">unverified' in page.split('id="clocks"')[0]:
            assert "the notice is not verified as coming from AWS (unverified)" in page
            assert f"/cases/{case_id}/apply?override=1" in page
            return
    pytest.fail("no unverified sample case")


def test_the_reply_is_saved_downloaded_and_marked_sent_by_the_user(
    url: str, seeded: Seeded, sqlite_engine: Engine
) -> None:
    operator = logged_in(url, "olive")
    case_id = seeded.cases[0]
    assert (
        operator.post(f"/cases/{case_id}/reply", {"do": "save", "text": "Hello AWS,\nfixed."}).status_code
        == 303
    )
    page = operator.get(f"/cases/{case_id}").text
    assert "Hello AWS,\nfixed." in page and "saved by olive" in page
    eml = operator.get(f"/cases/{case_id}/reply.eml")
    assert eml.headers["content-type"].startswith("message/rfc822") and "Hello AWS," in eml.text
    assert "attachment" in eml.headers["content-disposition"]
    assert (
        logged_in(url, "vera").post(f"/cases/{case_id}/reply", {"do": "sent", "text": "x"}).status_code == 403
    )
    assert (
        operator.post(f"/cases/{case_id}/reply", {"do": "sent", "text": "Hello AWS,\nfixed."}).status_code
        == 303
    )
    with sqlite_engine.connect() as connection:
        status = connection.execute(select(cases.c.status).where(cases.c.id == case_id)).scalar()
    assert status == "replied"
    assert ("olive", "reply sent to AWS by olive") in events(sqlite_engine, case_id, "reply-sent")


def test_the_language_switch_turns_labels_and_times_japanese(url: str, seeded: Seeded) -> None:
    session = logged_in(url, "vera")
    english = session.get(f"/cases/{seeded.verified}").text
    assert "Checklist" in english and "UTC" in english
    assert session.post("/lang", {"lang": "ja", "next": f"/cases/{seeded.verified}"}).status_code == 303
    japanese = session.get(f"/cases/{seeded.verified}").text
    assert "チェックリスト" in japanese and "JST" in japanese and 'lang="ja"' in japanese
    assert session.post("/lang", {"lang": "en"}, csrf=False).status_code == 403


def test_a_malformed_cookie_header_is_no_session_not_an_error(url: str) -> None:
    for header in ('a"b=1; noticedesk=x', "=;;==", "noticedesk"):
        answer = httpx.get(f"{url}/", headers={"Cookie": header}, timeout=5)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert httpx.get(f"{url}/api/cases", headers={"Cookie": "=;;=="}, timeout=5).status_code == 401


def test_logout_ends_the_session(url: str) -> None:
    session = logged_in(url, "vera")
    assert session.post("/logout").status_code == 303
    assert session.get("/").status_code == 303


def test_the_board_on_postgresql(postgres_engine: Engine, clock: Clock) -> None:
    seeded = seed(postgres_engine)
    with live(postgres_engine, clock) as base:
        session = logged_in(base, "vera")
        board = session.get("/", params={"overdue": "1", "status": "all"})
        assert board.status_code == 200
        assert session.get(f"/cases/{seeded.verified}").status_code == 200
    assert clock() == NOW


def test_the_cookie_is_secure_when_a_trusted_proxy_says_the_browser_came_over_tls(url: str) -> None:
    # The test server trusts 127.0.0.1's X-Forwarded-Proto (uvicorn's default; serve: trusted_proxies).
    behind_tls = Session(url).get("/login", headers={"x-forwarded-proto": "https"})
    assert "Secure" in behind_tls.headers["set-cookie"] and "HttpOnly" in behind_tls.headers["set-cookie"]
    assert "Secure" not in Session(url).get("/login").headers["set-cookie"]


def test_serve_believes_forwarded_headers_from_the_configured_proxies_only() -> None:
    from noticedesk.config import Config, WebConfig
    from noticedesk.web.server import _limits

    assert _limits(Config())["forwarded_allow_ips"] == ""
    assert _limits(Config(web=WebConfig(trusted_proxies=["10.0.0.5"])))["forwarded_allow_ips"] == "10.0.0.5"


def test_a_trusted_proxy_names_the_user_and_nobody_else_can(
    sqlite_engine: Engine, seeded: Seeded, clock: Clock
) -> None:
    import httpx

    from noticedesk.config import Config, WebConfig

    config = Config(web=WebConfig(trusted_proxies=["127.0.0.1/32"], user_header="X-Forwarded-User"))
    with live(sqlite_engine, clock, config) as base:
        as_olive = httpx.get(f"{base}/api/me", headers={"x-forwarded-user": "olive"})
        assert as_olive.json() == {"name": "olive", "role": "operator", "via": "proxy"}
        assert httpx.get(f"{base}/api/me", headers={"x-forwarded-user": "mallory"}).status_code == 401
        assert httpx.get(f"{base}/api/me").status_code == 401
    elsewhere = Config(web=WebConfig(trusted_proxies=["192.0.2.1"], user_header="X-Forwarded-User"))
    with live(sqlite_engine, clock, elsewhere) as base:  # the header from an address not trusted
        assert httpx.get(f"{base}/api/me", headers={"x-forwarded-user": "olive"}).status_code == 401


def test_after_login_only_a_path_of_this_site_is_followed(url: str) -> None:
    for target, expected in (
        ("/cases/1", "/cases/1"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
    ):
        session = Session(url)
        session.csrf = csrf_of(session.get("/login").text)
        answer = session.client.post(
            "/login",
            data={"username": "vera", "password": PASSWORD, "csrf_token": session.csrf, "next": target},
        )
        assert answer.headers["location"] == expected, target


def test_a_session_ends_twelve_hours_after_login_however_busy(url: str, clock: Clock) -> None:
    session = logged_in(url, "vera")
    for _ in range(35):  # a request every 20 minutes: never idle, 11 h 40 min in all
        clock.advance(minutes=20)
        assert session.get("/").status_code == 200
    clock.advance(minutes=21)
    assert session.get("/").status_code == 303
