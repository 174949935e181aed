"""Helpers of the dashboard tests: a store with cases and users, a logged-in client of a live server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, insert, update

from noticedesk.cli.demo import samples_told_at
from noticedesk.config import Config
from noticedesk.feedback.manual import suppress
from noticedesk.store.tables import cases, ses_send_counts
from noticedesk.triage import Triage
from noticedesk.users import add_user
from noticedesk.web.app import create_app
from tests.fixes_helpers import add_findings, finding, make_case
from tests.live_server import running

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
USERS = {"alice": "admin", "olive": "operator", "vera": "viewer"}
HOSTILE_TITLE = "<script>alert('x')</script> & <b>bold</b>"


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Seeded:
    verified: int
    """A verified leaked-key case with a failing finding (a public AMI): plan and apply work."""
    cases: list[int] = field(default_factory=list)


def seed(engine: Engine, now: datetime = NOW, config: Config | None = None) -> Seeded:
    """The demo's sample notices triaged, a diagnosed verified case, one user per role."""
    results = list(Triage(engine, config or Config(), lambda: now).run(samples_told_at(now)))
    filed = sorted({r.case_id for r in results if r.case_id is not None})
    verified = make_case(engine, now - timedelta(hours=2), "verified")
    with engine.begin() as connection:
        connection.execute(
            update(cases)
            .where(cases.c.id == verified)
            .values(
                title=HOSTILE_TITLE, reply_by=now + timedelta(hours=5), facts={"account_id": "123456789012"}
            )
        )
    add_findings(engine, verified, now - timedelta(hours=1), [finding("ami", "ami-0123456789abcdef0")])
    for name, role in USERS.items():
        add_user(engine, name, PASSWORD, role, now)
    return Seeded(verified, [*filed, verified])


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


class Session:
    """One browser's cookies against a live server, logged in as someone (or not)."""

    opened: list[Session] = []  # noqa: RUF012  (closed by close_all after each test)

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
        self.csrf = ""
        Session.opened.append(self)

    @classmethod
    def close_all(cls) -> None:
        while cls.opened:
            cls.opened.pop().client.close()

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        self.csrf = csrf_of(self.client.get("/login").text)
        answer = self.client.post(
            "/login", data={"username": name, "password": password, "csrf_token": self.csrf, "next": "/"}
        )
        if answer.status_code == 303:
            self.csrf = csrf_of(self.client.get("/").text)
        return answer

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, csrf: bool = True) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form)


@contextmanager
def live(engine: Engine, clock: Clock, config: Config | None = None) -> Iterator[str]:
    with running(create_app(engine, config or Config(), clock=clock)) as url:
        yield url


def seed_ses(engine: Engine, now: datetime = NOW, days: int = 14) -> None:
    """Hourly send counters for two identities of one account over ``days``: one sender's bounce
    rate climbing past AWS's review level, the other's steady and low."""
    rows = []
    for day in range(days):
        bucket = (now - timedelta(days=days - 1 - day)).replace(minute=0, second=0, microsecond=0)
        climbing = 0.02 + 0.005 * day
        for identity, bounce, complaint in (
            ("news.example.com", climbing, 0.0004 + 0.00005 * day),
            ("example.com", 0.008, 0.0002),
        ):
            sends = 4000
            rows.append(
                {
                    "bucket_start": bucket,
                    "account_id": "123456789012",
                    "region": "us-east-1",
                    "identity": identity,
                    "configuration_set": "",
                    "sends": sends,
                    "deliveries": int(sends * (1 - bounce)),
                    "hard_bounces": int(sends * bounce),
                    "soft_bounces": 3,
                    "complaints": int(sends * complaint),
                    "rejects": 0,
                }
            )
    with engine.begin() as connection:
        connection.execute(insert(ses_send_counts), rows)
        suppress(
            connection,
            "bounced@example.org",
            "BOUNCE",
            "mailbox does not exist (seen in the logs)",
            "olive",
            now,
        )
        suppress(connection, "=cmd@example.org", "COMPLAINT", "complained by phone", "olive", now)
