"""Every route of the web app, for every role: who may, who gets 403, and who gets 401 (no one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from starlette.routing import Route

from noticedesk.config import Config, WebConfig
from noticedesk.errors import AwsError
from noticedesk.users import may
from noticedesk.web.app import create_app
from tests.live_server import running
from tests.web_helpers import Clock, Seeded, Session, seed

TOKEN = "operator-machine-token"


class NoAws:
    """Fixes reach for AWS only through this: here they are refused at once (409), never sent."""

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise AwsError("no AWS in this test")


def app_for(engine: Engine, token_role: str = "operator") -> Any:
    config = Config(web=WebConfig(api_tokens=[TOKEN], api_token_role=token_role))  # type: ignore[arg-type]
    return create_app(engine, config, clock=Clock(), clients=NoAws)


@pytest.fixture
def seeded(sqlite_engine: Engine) -> Seeded:
    return seed(sqlite_engine)


@pytest.fixture
def url(sqlite_engine: Engine, seeded: Seeded) -> Iterator[str]:
    with running(app_for(sqlite_engine)) as base:
        yield base
    Session.close_all()


def guarded_routes(app: Any) -> list[tuple[str, str, str]]:
    """(method, path, role) of every route behind a login."""
    found = []
    for item in app.routes:
        role = getattr(getattr(item, "endpoint", None), "role", None)
        if isinstance(item, Route) and role is not None:
            found += [(method, item.path, role) for method in sorted(item.methods or ()) if method != "HEAD"]
    return found


def concrete(path: str, seeded: Seeded) -> str:
    return (
        path.replace("{case_id}", str(seeded.verified))
        .replace("{item}", "deactivate-key")
        .replace("{action_id}", f"A-{seeded.verified}-1")
        .replace("{address}", "someone@example.org")
    )


def call(session: Session, method: str, path: str) -> httpx.Response:
    if path.startswith("/api/"):
        headers = {"x-csrf-token": session.csrf}
        return session.client.request(method, path, json={} if method != "GET" else None, headers=headers)
    if method == "GET":
        return session.get(path)
    return session.post(path, {"reason": "a test", "address": "someone@example.org"})


def test_the_unauthenticated_routes_are_the_webhook_login_and_static_files(sqlite_engine: Engine) -> None:
    app = app_for(sqlite_engine)
    guarded = {path for _, path, _ in guarded_routes(app)}
    open_routes = {getattr(r, "path", "") for r in app.routes} - guarded
    assert open_routes == {"/webhooks/sns", "/login", "/logout", "/lang", "/static", "/healthz", "/readyz"}


def test_probes_answer_without_a_login_and_metrics_need_one(url: str) -> None:
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{url}/readyz").status_code == 200
    assert httpx.get(f"{url}/metrics").status_code == 401
    metrics = httpx.get(f"{url}/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert metrics.status_code == 200 and "noticedesk" in metrics.text


def test_every_route_and_role(url: str, seeded: Seeded, sqlite_engine: Engine) -> None:
    routes = guarded_routes(app_for(sqlite_engine))
    assert len(routes) > 25
    sessions = {name: Session(url) for name in ("vera", "olive", "alice")}
    for name, session in sessions.items():
        assert session.login(name).status_code == 303
    anonymous = Session(url)
    roles = {"vera": "viewer", "olive": "operator", "alice": "admin"}
    for method, template, needed in routes:
        path = concrete(template, seeded)
        nobody = call(anonymous, method, path)
        assert nobody.status_code in (401, 303), (method, path, nobody.status_code)
        for name, session in sessions.items():
            answer = call(session, method, path)
            if may(roles[name], needed):
                assert answer.status_code not in (401, 403, 500), (name, method, path, answer.text[:200])
            else:
                assert answer.status_code == 403, (name, method, path, answer.status_code)


def test_a_browser_session_needs_the_csrf_header_on_the_api(url: str, seeded: Seeded) -> None:
    session = Session(url)
    session.login("olive")
    path = f"/api/cases/{seeded.verified}/checklist/deactivate-key"
    assert session.client.post(path, json={"done": True}).status_code == 403
    assert (
        session.client.post(path, json={"done": True}, headers={"x-csrf-token": "forged"}).status_code == 403
    )
    done = session.client.post(path, json={"done": True}, headers={"x-csrf-token": session.csrf})
    assert done.status_code == 200 and done.json()["done_by"] == "olive"


def test_an_api_token_acts_with_its_role_and_needs_no_csrf(url: str, seeded: Seeded) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}
    cases = httpx.get(f"{url}/api/cases", headers=auth, params={"status": "all"}).json()
    assert cases["total"] == len(seeded.cases) and cases["cases"][0]["next_deadline"] is not None
    saved = httpx.put(f"{url}/api/cases/{seeded.verified}/reply", headers=auth, json={"text": "Hello"})
    assert saved.status_code == 200 and saved.json()["saved_by"] == "api-token"
    refused = httpx.post(f"{url}/api/cases/{seeded.verified}/apply", headers=auth, json={"confirm": True})
    assert refused.status_code == 403  # an operator token: no fixes
    assert httpx.get(f"{url}/api/cases", headers={"authorization": "Bearer wrong"}).status_code == 401
    bad = httpx.put(f"{url}/api/cases/{seeded.verified}/reply", headers=auth, json={"text": 3})
    assert bad.status_code == 422 and "text" in bad.json()["error"]
    plan = httpx.post(f"{url}/api/cases/{seeded.verified}/plan", headers=auth).json()
    assert plan["dry_run"] is True and plan["actions"][0]["resource_id"] == "ami-0123456789abcdef0"


def test_openapi_describes_exactly_the_api_routes(url: str, sqlite_engine: Engine) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}
    spec = httpx.get(f"{url}/openapi.json", headers=auth).json()
    described = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    served = {(m, p) for m, p, _ in guarded_routes(app_for(sqlite_engine)) if p.startswith("/api/")}
    assert described == served
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            named = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert named == set(path.replace("}", "{").split("{")[1::2]), path
    assert httpx.get(f"{url}/openapi.json").status_code == 401
