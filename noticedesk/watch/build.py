"""The watcher put together from the configuration: its sources, triage's filing path, the clocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from noticedesk.aws.clients import ClientFactory

from noticedesk.config import Config
from noticedesk.errors import ConfigError
from noticedesk.feedback.alarm_state import check_alarms
from noticedesk.mail.readers import RawItem
from noticedesk.queues.consumer import QueueConsumer
from noticedesk.triage import Triage
from noticedesk.triage.queued import health_handler
from noticedesk.watch.imap import ImapSource, imap_password
from noticedesk.watch.maildir import MaildirSource
from noticedesk.watch.runner import Notifier, Watcher
from noticedesk.watch.sources import Source


def build_watcher(
    engine: Engine,
    config: Config,
    clock: Callable[[], datetime],
    *,
    sqs_client: Callable[[str], object] | None = None,
    notifier: Notifier | None = None,
    aws_clients: Callable[[], ClientFactory] | None = None,
) -> Watcher:
    """``sqs_client(queue_url)`` makes the client of the Health queue (the composition root's)."""
    settings = config.watch
    max_bytes = config.input.max_message_bytes
    sources: list[Source] = []
    imap = None
    if settings.imap is not None:
        imap_password(settings.imap)  # a missing password stops the start, not the first connection
        imap = ImapSource(settings.imap, engine, clock, max_bytes)
        sources.append(imap)
    sources.extend(MaildirSource(folder, max_bytes) for folder in settings.maildirs)
    queues = []
    triage = Triage(engine, config, clock)
    if settings.health_queue_url:
        if sqs_client is None:
            raise ConfigError("[watch] health_queue_url is set but no AWS client was given")
        # The worker's consumer and handler (one way to read a Health queue): delete after the
        # commit, poison dead-lettered with its reason. No long poll: the watcher waits elsewhere.
        queues.append(
            QueueConsumer(
                "health",
                engine,
                sqs_client(settings.health_queue_url),
                settings.health_queue_url,
                health_handler(triage),
                clock=clock,
                wait_seconds=0,
            )
        )
    if not sources and not queues:
        raise ConfigError(
            "nothing to watch: set [watch.imap], [watch] maildirs or [watch] health_queue_url (docs/watch.md)"
        )
    if notifier is None and config.notify.channels:
        from noticedesk.watch.notifying import OutboxNotifier

        notifier = OutboxNotifier(engine, config.notify, clock)
    ses = config.ses
    posture = None
    if settings.posture is not None:
        if aws_clients is None:
            raise ConfigError("[watch.posture] is set but no AWS client factory was given")
        from noticedesk.watch.posture import build_posture_scan

        scan = build_posture_scan(engine, config, aws_clients, clock)
        posture = scan.run if scan is not None else None
    return Watcher(
        engine=engine,
        settings=settings,
        clock=clock,
        sources=sources,
        queues=queues,
        file=triage.run,
        notifier=notifier,
        warnings_hours=config.notify.deadline_warnings_hours,
        check_alarms=lambda now: check_alarms(engine, ses, now=now).case_ids,
        waiter=imap,
        warm_up=lambda: _warm_up(triage),
        posture=posture,
    )


def _warm_up(triage: Triage) -> None:
    """Read the bundled sample notices as ``triage --explain`` does: nothing stored, nothing kept."""
    samples = resources.files("noticedesk.demo").joinpath("samples")
    items = [
        RawItem(f"warm-up:{entry.name}", None, entry.read_bytes(), "mail")
        for entry in sorted(samples.iterdir(), key=lambda entry: entry.name)
        if entry.name.endswith(".eml")
    ]
    for _result in triage.explain(items):
        pass
