"""Gather: read an AWS account (read-only) into plain dataclasses, one source per service and region.

Every source is a function ``(scope, region) -> dataclass`` that calls AWS through the injected
``ClientFactory``. A failed call never raises out of gathering: ``attempt`` turns it into a
``GatherError`` value (access denied, region not opted in, API missing, throttled after retries),
which the checks report as ``error``, never ``pass``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from noticedesk.aws.clients import ClientFactory
from noticedesk.notices.model import Facts

log = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")

AWS_FAILURES = (ClientError, BotoCoreError, ResponseParserError, NotImplementedError)
"""What an AWS call can raise that means 'could not read': errors, unparsable answers (a fake AWS
answering HTML), and NotImplementedError from moto. Anything else is a bug and propagates."""

ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
)
NOT_ENABLED = frozenset(
    {"OptInRequired", "AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId"}
)
THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
_HTML_PAGE = re.compile(r"<!doctype html|<html", re.IGNORECASE)


def brief(text: str) -> str:
    """The reason on one short line; an HTML error page (from a proxy, or a fake AWS that lacks the
    call) is named, not quoted into every finding."""
    if _HTML_PAGE.search(text):
        return (
            "the endpoint answered with an HTML error page, not an AWS answer (a fake AWS may lack this call)"
        )
    return " ".join(text.split())[:200]


@dataclass(frozen=True)
class GatherError:
    """Why some data could not be read. ``kind`` is one of the words below, for people and tests."""

    service: str
    operation: str
    region: str | None
    kind: str
    """access-denied | region-not-enabled | not-implemented | throttled | aws-error | connection"""
    message: str

    def describe(self) -> str:
        where = f" in {self.region}" if self.region else ""
        return f"{self.service}:{self.operation}{where} could not be read ({self.kind}): {self.message}"


class GatherFailed(Exception):
    """Carries a ``GatherError`` out of a source function to ``attempt``; never leaves gathering."""

    def __init__(self, error: GatherError) -> None:
        super().__init__(error.describe())
        self.error = error


def classify(service: str, operation: str, region: str | None, error: BaseException) -> GatherError:
    """Turn whatever a boto3 call (or moto) raised into a ``GatherError``."""
    if isinstance(error, GatherFailed):
        return error.error
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", "")) or code
        if code in ACCESS_DENIED:
            kind = "access-denied"
        elif code in NOT_ENABLED:
            kind = "region-not-enabled"
        elif code in THROTTLED:
            kind = "throttled"
        elif code in ("404", "501", "NotImplemented", "InvalidAction"):
            kind = "not-implemented"
        else:
            kind = "aws-error"
        return GatherError(service, operation, region, kind, f"{code}: {brief(message)}")
    if isinstance(error, NotImplementedError):
        return GatherError(service, operation, region, "not-implemented", brief(str(error)))
    if isinstance(error, ResponseParserError):  # the endpoint answered, but not in AWS's format
        return GatherError(service, operation, region, "aws-error", f"unreadable answer: {brief(str(error))}")
    if isinstance(error, BotoCoreError):
        return GatherError(service, operation, region, "connection", brief(str(error)))
    raise error


def classify_call(client: Any, method: str, region: str | None, error: BaseException) -> GatherError:
    """``classify`` for a failed client method, named as AWS names its API (``GetSnapshotBlock…``,
    not ``get_snapshot_block…``), as IAM policies and CloudTrail do."""
    api_name = client.meta.method_to_api_mapping.get(method, method)
    return classify(client.meta.service_model.service_name, api_name, region, error)


def call(client: Any, operation: str, region: str | None, **kwargs: Any) -> Any:
    """One AWS call; a failure becomes ``GatherFailed`` carrying the reason."""
    try:
        return getattr(client, operation)(**kwargs)
    except AWS_FAILURES as error:
        raise GatherFailed(classify_call(client, operation, region, error)) from error


def pages(client: Any, operation: str, key: str, region: str | None, **kwargs: Any) -> list[Any]:
    """Every item under ``key`` across all pages of a paginated operation."""
    return pages_of(client, operation, (key,), region, **kwargs)[key]


def pages_of(
    client: Any, operation: str, keys: tuple[str, ...], region: str | None, **kwargs: Any
) -> dict[str, list[Any]]:
    """Every item under each of ``keys`` across all pages (for operations that return several lists)."""
    items: dict[str, list[Any]] = {key: [] for key in keys}
    try:
        for page in client.get_paginator(operation).paginate(**kwargs):
            for key in keys:
                items[key].extend(page.get(key, []))
    except AWS_FAILURES as error:
        raise GatherFailed(classify_call(client, operation, region, error)) from error
    return items


def attempt(service: str, region: str | None, function: Callable[[], T]) -> T | GatherError:
    """Run a whole source; its failure is a value."""
    try:
        return function()
    except (GatherFailed, *AWS_FAILURES) as error:
        failure = classify(service, "gather", region, error)
        log.info("gather failed: %s", failure.describe())
        return failure


class Fanout:
    """A bounded pool for per-item calls inside a source (one call per snapshot, per user …).

    Separate from the pool that runs the sources, so a source waiting on its items can never
    starve the pool it runs in.
    """

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="fanout")

    def map(self, function: Callable[[T], U], items: Iterable[T]) -> list[U]:
        if self.concurrency == 1:
            return [function(item) for item in items]
        return list(self._pool.map(function, items))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@dataclass
class Scope:
    """What every source gets: where to read, what the case names, the clock, the item pool."""

    factory: ClientFactory
    account_id: str
    facts: Facts
    now: datetime
    fanout: Fanout
    lookback_days: int = 90

    def client(self, service: str, region: str | None) -> Any:
        return self.factory.client(service, region, self.account_id)


def item_or_error(
    service: str, operation: str, region: str | None, function: Callable[[], T]
) -> T | GatherError:
    """Like ``attempt`` for one item of a fan-out: a failure is kept next to the item."""
    try:
        return function()
    except (GatherFailed, *AWS_FAILURES) as error:
        return classify(service, operation, region, error)
