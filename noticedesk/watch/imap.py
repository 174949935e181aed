"""An IMAP mailbox as a watched source: read past the stored cursor, mark after the commit.

Each mail is fetched with ``BODY.PEEK[]`` (reading it does not mark it read). Once its case is
committed, the cursor (UIDVALIDITY, last UID) moves forward in the store, then the mail is moved
to ``processed_folder`` or flagged ``\\Seen`` and ``$NoticeDeskFiled``. A crash between the two
leaves a filed mail unmarked: the next connection marks every mail at or below the cursor before
reading anything new. A crash before the cursor moved reads the mail again, and triage's dedupe
key (its Message-ID) files it as a duplicate, not as a second case.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
from collections.abc import Callable
from datetime import datetime
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import Engine

from noticedesk.config import ImapConfig
from noticedesk.errors import ConfigError, WatchError
from noticedesk.mail.readers import RawItem, too_large
from noticedesk.net import is_loopback
from noticedesk.watch.cursors import Cursor, load_cursor, save_cursor
from noticedesk.watch.sources import Arrival

log = logging.getLogger(__name__)
FILED_KEYWORD = b"$NoticeDeskFiled"
_FAILURES = (OSError, IMAPClientError, ssl.SSLError, socket.timeout)


def imap_password(config: ImapConfig, environ: dict[str, str] | None = None) -> str:
    """The password from ``password_env`` or ``password_file``; never from the configuration file."""
    environ = dict(os.environ) if environ is None else environ
    if config.password_env:
        value = environ.get(config.password_env)
        if value:
            return value
        if config.password_file is None:
            raise ConfigError(f"[watch.imap] password_env: the variable {config.password_env} is not set")
    if config.password_file is not None:
        try:
            lines = config.password_file.read_text("utf-8").splitlines()
        except OSError as error:
            raise ConfigError(
                f"[watch.imap] password_file: cannot read {config.password_file}: {error.strerror}"
            ) from error
        if lines and lines[0]:
            return lines[0]
        raise ConfigError(f"[watch.imap] password_file: {config.password_file} is empty")
    raise ConfigError("[watch.imap]: give password_env or password_file")


class ImapSource:
    """One IMAP folder. Connects on first use and again after a failure."""

    def __init__(
        self,
        config: ImapConfig,
        engine: Engine,
        clock: Callable[[], datetime],
        max_bytes: int,
        password: Callable[[], str] | None = None,
    ) -> None:
        if not config.tls and not config.starttls and not is_loopback(config.host):
            raise ConfigError(
                f"[watch.imap] {config.host}: neither tls nor starttls; a password is sent in clear "
                "only to a loopback address"
            )
        self.config = config
        self.engine = engine
        self.clock = clock
        self.max_bytes = max_bytes
        self._password = password or (lambda: imap_password(config))
        self.name = f"imap://{config.username}@{config.host}/{config.folder}"
        self._client: IMAPClient | None = None
        self._cursor = Cursor(0, 0)
        self._idling = False

    # -- the connection ------------------------------------------------------------------------

    def _connect(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        config = self.config
        context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
        port = config.port or (993 if config.tls else 143)
        password = self._password()  # read at each connection: a rotated password file is picked up
        try:
            client = IMAPClient(
                config.host, port=port, ssl=config.tls, ssl_context=context, timeout=config.timeout_seconds
            )
        except _FAILURES as error:
            raise WatchError(f"{self.name}: cannot connect: {_reason(error)}") from error
        self._client = client
        try:
            if config.starttls and not config.tls:
                client.starttls(context)
            client.login(config.username, password)
            selected = client.select_folder(config.folder)
            if config.processed_folder and not client.folder_exists(config.processed_folder):
                client.create_folder(config.processed_folder)
        except _FAILURES as error:
            self._drop()
            raise WatchError(f"{self.name}: cannot open the mailbox: {_reason(error)}") from error
        validity = int(selected[b"UIDVALIDITY"])
        stored = load_cursor(self.engine, self.name)
        if stored is not None and stored.uid_validity != validity:
            log.warning(
                "imap uidvalidity changed: reading the folder again (dedupe keys keep it filed once)",
                extra={"source": self.name, "was": stored.uid_validity, "now": validity},
            )
            stored = None
        self._cursor = stored or Cursor(validity, 0)
        log.info(
            "imap connected",
            extra={
                "source": self.name,
                "idle": self.can_idle,
                "uid_validity": validity,
                "last_uid": self._cursor.last_uid,
            },
        )
        self._finish_marking(client)
        return client

    def _drop(self) -> None:
        client, self._client, self._idling = self._client, None, False
        if client is not None:
            with contextlib.suppress(*_FAILURES):
                client.shutdown()

    @property
    def can_idle(self) -> bool:
        return self.config.idle and self._client is not None and self._client.has_capability("IDLE")

    def close(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            if self._idling:
                client.idle_done()
                self._idling = False
            client.logout()
            self._client = None
        except _FAILURES:
            self._drop()

    # -- reading and marking ---------------------------------------------------------------------

    def take(self, limit: int) -> list[Arrival]:
        try:
            client = self._connect()
            last = self._cursor.last_uid
            client.noop()  # the server tells a selected folder's news on a command: ask it now
            uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)[:limit]
            if not uids:
                return []
            sizes = client.fetch(uids, [b"RFC822.SIZE"])
            small = [uid for uid in uids if int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) <= self.max_bytes]
            bodies: dict[int, Any] = client.fetch(small, [b"BODY.PEEK[]"]) if small else {}
        except _FAILURES as error:
            self._drop()
            raise WatchError(f"{self.name}: cannot read the mailbox: {_reason(error)}") from error
        arrivals = []
        for uid in uids:
            body = bodies.get(uid, {}).get(b"BODY[]")
            if uid not in small:
                item = RawItem(self.name, uid, b"", "unknown", too_large(self.max_bytes))
            elif body is None:  # expunged by someone else between SEARCH and FETCH
                continue
            else:
                item = RawItem(self.name, uid, bytes(body), "mail")
            arrivals.append(Arrival(item, uid))
        return arrivals

    def filed(self, arrivals: list[Arrival]) -> None:
        uids = sorted(int(str(arrival.token)) for arrival in arrivals)
        if not uids:
            return
        self._cursor = Cursor(self._cursor.uid_validity, max(self._cursor.last_uid, uids[-1]))
        save_cursor(self.engine, self.name, self._cursor, self.clock())
        try:
            self._mark(self._connect(), uids)
        except _FAILURES as error:
            # Filed and past the cursor: marked on the next connection (``_finish_marking``).
            self._drop()
            raise WatchError(f"{self.name}: filed, but cannot mark as filed: {_reason(error)}") from error

    def _mark(self, client: IMAPClient, uids: list[int]) -> None:
        folder = self.config.processed_folder
        if folder is None:
            client.add_flags(uids, [b"\\Seen", FILED_KEYWORD], silent=True)
        elif client.has_capability("MOVE"):
            client.move(uids, folder)
        else:
            client.copy(uids, folder)
            client.delete_messages(uids, silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                client.expunge()

    def _finish_marking(self, client: IMAPClient) -> None:
        """Mark what was filed before a crash but not marked (at or below the cursor)."""
        last = self._cursor.last_uid
        if last == 0:
            return
        criteria: list[Any] = ["UID", f"1:{last}"]
        if self.config.processed_folder is None:
            criteria += ["UNKEYWORD", FILED_KEYWORD.decode()]
        left = [uid for uid in client.search(criteria) if uid <= last]
        if left:
            log.info(
                "imap marking mails filed before a restart", extra={"source": self.name, "count": len(left)}
            )
            self._mark(client, left)

    # -- waiting ---------------------------------------------------------------------------------

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` with IDLE for the server to announce new mail; True if it did.

        Returns False at once when IDLE is not in use (the watcher polls instead).
        """
        if not self.can_idle or self._client is None:
            return False
        client = self._client
        try:
            client.idle()
            self._idling = True
            responses = client.idle_check(timeout=seconds)
            client.idle_done()
            self._idling = False
        except _FAILURES as error:
            self._drop()
            raise WatchError(
                f"{self.name}: the connection dropped while waiting: {_reason(error)}"
            ) from error
        return any(len(response) > 1 and response[1] in (b"EXISTS", b"RECENT") for response in responses)


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
