"""The outbox on both stores, delivering to a real HTTP receiver: once per (event, channel),
retried with backoff, given up and visible, claimed without overlap by concurrent senders."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text

from noticedesk.accounts.registry import Account, save_account
from noticedesk.config import NotifyConfig
from noticedesk.errors import ConfigError, NotifyError
from noticedesk.notify.channels.build import build_channels
from noticedesk.notify.channels.webhook import WebhookChannel
from noticedesk.notify.events import Event
from noticedesk.notify.outbox import Backoff, claim_due, deliver_due, enqueue, list_rows, retry
from noticedesk.notify.sending import Sender
from noticedesk.store.tables import outbox
from tests.notify_helpers import receiver

SECRET = "whsec-test-key"
ACCOUNT = "123456789012"


def _event(key: str = "case-opened:1", account: str | None = ACCOUNT, **facts: str) -> Event:
    facts = {"case_kind": "account-compromised", "title": "Your AWS account may be compromised", **facts}
    return Event("case.opened", "1", account, key, facts)


def _webhook(url: str, name: str = "default") -> dict[str, WebhookChannel]:
    return {name: WebhookChannel(name, url + "/hook", SECRET)}


def _rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(outbox).order_by(outbox.c.id))]


def test_an_event_enqueued_twice_is_one_row(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        assert enqueue(conn, _event(), now=now) == 1
    with engine.begin() as conn:
        assert enqueue(conn, _event(), now=now) == 0
    rows = _rows(engine)
    assert [(row["dedupe_key"], row["channel"], row["status"]) for row in rows] == [
        ("case-opened:1", "default", "pending")
    ]


def test_an_event_of_a_rolled_back_change_is_not_queued(engine: Engine, now: datetime) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        enqueue(conn, _event(), now=now)
        raise RuntimeError("the change failed")
    assert _rows(engine) == []


def test_a_registered_account_routes_to_its_channels_in_its_language(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        save_account(conn, Account(ACCOUNT, "Prod", language="ja", channels=("ops", "mail")), now=now)
        assert enqueue(conn, _event(), now=now) == 2
    rows = _rows(engine)
    assert [(row["channel"], row["language"]) for row in rows] == [("ops", "ja"), ("mail", "ja")]
    assert rows[0]["facts"]["account_name"] == "Prod"  # type: ignore[index]


def test_an_unknown_account_goes_to_the_default_channel_flagged(engine: Engine, now: datetime) -> None:
    with receiver() as hook, engine.begin() as conn:
        enqueue(conn, _event(account="999999999999"), now=now)
    with receiver() as hook:
        report = deliver_due(engine, now=now, channels=_webhook(hook.url))
        assert len(report.sent) == 1
        payload = json.loads(hook.delivered[0].body)
    assert payload["account"] == "999999999999 (unknown account)"
    assert payload["language"] == "en"


def test_the_webhook_is_signed_over_timestamp_and_body(engine: Engine, now: datetime) -> None:
    deadline = now + timedelta(hours=20)
    with engine.begin() as conn:
        save_account(conn, Account(ACCOUNT, "Prod"), now=now)
        enqueue(conn, _event(deadline=deadline.isoformat(), deadline_label="reply_by"), now=now)
    with receiver() as hook:
        report = deliver_due(engine, now=now, channels=_webhook(hook.url))
        (request,) = hook.requests
    assert report.sent and not report.failed
    timestamp = request.headers["X-NoticeDesk-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-NoticeDesk-Signature"] == f"v1={expected}"
    assert request.headers["X-NoticeDesk-Event"] == "case.opened"
    payload = json.loads(request.body)
    assert payload["account"] == "Prod (123456789012)"
    assert payload["time_left"] == "20 h 00 min left"
    assert payload["command"] == "noticedesk case show 1"
    assert "Prod (123456789012)" in payload["title"]
    assert _rows(engine)[0]["status"] == "sent"


def test_a_receiver_failing_three_times_gets_the_message_once(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        enqueue(conn, _event(), now=now)
    backoff = Backoff(base_seconds=30, max_seconds=600, max_tries=8)
    clock = now
    with receiver([500, 500, 500]) as hook:
        for _ in range(12):  # a watcher's passes; each moves the test clock a few minutes on
            deliver_due(engine, now=clock, channels=_webhook(hook.url), backoff=backoff, rng=random.Random(1))
            clock += timedelta(minutes=3)
        assert [request.status for request in hook.requests] == [500, 500, 500, 200]
        delivery_ids = {request.headers["X-NoticeDesk-Delivery"] for request in hook.requests}
    assert len(delivery_ids) == 1  # the same id on every try: a receiver can drop repeats
    (row,) = _rows(engine)
    assert (row["status"], row["tries"], row["last_error"]) == ("sent", 4, None)


def test_retries_wait_longer_each_time_with_jitter(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        enqueue(conn, _event(), now=now)
    backoff = Backoff(base_seconds=60, max_seconds=3600, max_tries=10)
    waits = []
    with receiver([503] * 5) as hook:
        clock = now
        for _ in range(5):
            report = deliver_due(engine, now=clock, channels=_webhook(hook.url), backoff=backoff)
            assert len(report.retrying) == 1
            due = _rows(engine)[0]["next_attempt_at"]
            assert isinstance(due, datetime)
            waits.append((due - clock).total_seconds())
            assert (
                deliver_due(engine, now=due - timedelta(seconds=1), channels=_webhook(hook.url)).attempted
                == 0
            )
            clock = due
    for tries, wait in enumerate(waits, start=1):
        ceiling = 60 * 2 ** (tries - 1)
        assert ceiling / 2 <= wait <= ceiling


def test_after_max_tries_the_message_is_failed_visible_and_can_be_retried(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        enqueue(conn, _event(), now=now)
    backoff = Backoff(base_seconds=1, max_seconds=1, max_tries=3)
    with receiver([500] * 3) as hook:
        clock = now
        for _ in range(5):
            deliver_due(engine, now=clock, channels=_webhook(hook.url), backoff=backoff)
            clock += timedelta(minutes=1)
        assert len(hook.requests) == 3
        with engine.connect() as conn:
            (failed,) = list_rows(conn, failed_only=True)
        assert (failed.status, failed.tries) == ("failed", 3)
        assert failed.last_error is not None and "HTTP 500" in failed.last_error
        with engine.begin() as conn:
            retry(conn, failed.id, now=clock)
        assert deliver_due(engine, now=clock, channels=_webhook(hook.url)).sent == [failed.id]
    with engine.begin() as conn, pytest.raises(NotifyError, match="nothing to retry"):
        retry(conn, failed.id, now=clock)


def test_a_client_error_fails_at_once(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        enqueue(conn, _event(), now=now)
    with receiver([404]) as hook:
        report = deliver_due(engine, now=now, channels=_webhook(hook.url))
    assert len(report.failed) == 1 and len(hook.requests) == 1


def test_an_unconfigured_channel_fails_visibly(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        enqueue(conn, _event(), now=now, channels=["nowhere"])
    report = deliver_due(engine, now=now, channels={})
    assert len(report.failed) == 1
    assert "no channel named 'nowhere'" in str(_rows(engine)[0]["last_error"])


def test_an_unreachable_receiver_is_retried_and_the_url_never_shown(engine: Engine, now: datetime) -> None:
    with receiver() as hook:
        url = hook.url  # closed when the block ends: nothing listens there any more
    secret_url = url + "/services/T000/B000/secret-token-xyz"
    with engine.begin() as conn:
        enqueue(conn, _event(), now=now)
    report = deliver_due(engine, now=now, channels={"default": WebhookChannel("default", secret_url, SECRET)})
    assert len(report.retrying) == 1
    error = str(_rows(engine)[0]["last_error"])
    assert "receiver not reached" in error and "secret-token" not in error


def test_a_sender_that_died_mid_send_leaves_rows_taken_again_after_the_lease(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        enqueue(conn, _event(), now=now)
    assert len(claim_due(engine, now=now)) == 1  # then the process dies
    assert claim_due(engine, now=now + timedelta(minutes=1)) == []
    with receiver() as hook:
        report = deliver_due(engine, now=now + timedelta(minutes=6), channels=_webhook(hook.url))
        assert len(report.sent) == 1 and len(hook.delivered) == 1


def test_concurrent_senders_skip_rows_another_holds(postgres_engine: Engine, now: datetime) -> None:
    with postgres_engine.begin() as conn:
        for number in range(4):
            enqueue(conn, _event(key=f"case-opened:{number}"), now=now)
    with postgres_engine.connect() as holder:
        transaction = holder.begin()
        held = (
            holder.execute(text("SELECT id FROM outbox ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED"))
            .scalars()
            .all()
        )
        claimed = [row.id for row in claim_due(postgres_engine, now=now)]
        transaction.rollback()
    assert len(held) == 2 and len(claimed) == 2
    assert set(held).isdisjoint(claimed)


def test_channels_are_built_from_the_configuration_with_secrets_from_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    config = NotifyConfig.model_validate(
        {
            "default_channel": "ops",
            "channels": {
                "ops": {"type": "webhook", "url": {"env": "OPS_HOOK_URL"}, "secret": {"env": "OPS_HOOK_KEY"}}
            },
        }
    )
    with pytest.raises(ConfigError, match="OPS_HOOK_URL is not set") as missing:
        build_channels(config)
    monkeypatch.setenv("OPS_HOOK_URL", "https://hooks.example/secret-path")
    monkeypatch.setenv("OPS_HOOK_KEY", "k")
    channels = build_channels(config)
    assert channels["default"] is channels["ops"]
    assert "secret-path" not in repr(channels) and "secret-path" not in str(missing.value)


def test_a_sender_pass_takes_batch_after_batch_until_nothing_is_due(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        for number in range(7):
            enqueue(conn, _event(key=f"case-opened:{number}"), now=now)
    with receiver() as hook:
        sender = Sender(engine, NotifyConfig(), channels=dict(_webhook(hook.url)))
        report = sender.send_due(now, limit=3)
        assert len(report.sent) == 7 and len(hook.delivered) == 7


def test_a_sender_pass_stops_after_its_rounds_or_when_asked_between_batches(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        for number in range(7):
            enqueue(conn, _event(key=f"case-opened:{number}"), now=now)
    asked: list[int] = []

    def stop_after_two_batches() -> bool:
        asked.append(1)
        return len(asked) > 2

    with receiver() as hook, Sender(engine, NotifyConfig(), channels=dict(_webhook(hook.url))) as sender:
        assert len(sender.send_due(now, limit=2, rounds=1).sent) == 2
        assert len(sender.send_due(now, limit=2, should_stop=stop_after_two_batches).sent) == 4
        assert len(asked) == 3  # asked before each batch: two sent, the third not begun
        assert len(sender.send_due(now, limit=2, rounds=None).sent) == 1
        assert len(hook.delivered) == 7


class _Broken:
    name = "default"

    def send(self, message: object) -> None:
        raise KeyError("https://hooks.example/secret-path")


def test_a_channel_that_breaks_costs_its_message_a_try_not_the_pass(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        enqueue(conn, _event(), now=now)
    report = deliver_due(engine, now=now, channels={"default": _Broken()})  # type: ignore[dict-item]
    assert len(report.retrying) == 1
    error = str(_rows(engine)[0]["last_error"])
    assert "unexpected KeyError" in error and "secret-path" not in error
