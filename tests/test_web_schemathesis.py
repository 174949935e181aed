"""schemathesis against /openapi.json on a live server: whatever the API is sent, it never answers 5xx."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy import Engine

from tests.live_server import running
from tests.test_web_roles import TOKEN, app_for
from tests.web_helpers import seed

AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def url(sqlite_engine: Engine) -> Iterator[str]:
    seed(sqlite_engine)
    # An admin's token: every operation runs its handler (fixes reach a fake AWS that refuses: 409).
    with running(app_for(sqlite_engine, "admin")) as base:
        yield base


def test_no_request_the_schema_allows_gets_a_server_error(url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", headers=AUTH, timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    failures: list[str] = []
    answered: list[int] = []
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):

        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def probe(case: schemathesis.Case, data: st.DataObject) -> None:
            response = case.call(base_url=url, headers=AUTH, timeout=30)
            answered.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r}: {response.status_code}"
                )

        probe()
    assert not failures, "\n".join(failures[:10])
    assert len(answered) > 300 and {200, 400, 404, 422} <= set(answered)  # it did reach the handlers
