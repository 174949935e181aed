"""Who holds an action now: the host and process applying or undoing it, and its lease.

A run claims an action before its first AWS call and renews the lease while it calls AWS. Another
run may take the action over only when the claim is dead: its lease ran out, or its process is
gone from this host. A claim that is merely "started, no outcome yet" belongs to a run at work.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, update

from noticedesk.aws.actions.base import Clients
from noticedesk.store.tables import actions

CLAIM_LEASE = timedelta(minutes=10)
"""How long a claim holds without a renewal; every AWS call of the action renews it."""


@dataclass(frozen=True)
class Claimer:
    host: str
    pid: int

    @classmethod
    def this_process(cls) -> Claimer:
        return cls(socket.gethostname(), os.getpid())

    def values(self, now: datetime) -> dict[str, object]:
        """The claim columns of a row this process takes."""
        return {"claim_host": self.host, "claim_pid": self.pid, "claim_until": now + CLAIM_LEASE}

    def owns(self) -> ColumnElement[bool]:
        """The condition that the row is still claimed by this process."""
        return and_(actions.c.claim_host == self.host, actions.c.claim_pid == self.pid)


def _gone_from_this_host(host: str | None, pid: int | None) -> bool:
    """True only when the process is known to be gone; another host's process cannot be asked."""
    if host != socket.gethostname() or pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False


def claim_alive(host: str | None, pid: int | None, until: datetime | None, now: datetime) -> bool:
    """A claim whose lease still runs and whose process is not known to be gone."""
    return until is not None and until > now and not _gone_from_this_host(host, pid)


def renew(connection: Connection, action_id: str, claimer: Claimer, now: datetime) -> None:
    """The heartbeat: push the lease on while this process still holds the action."""
    connection.execute(
        update(actions)
        .where(actions.c.id == action_id, claimer.owns(), actions.c.claim_until.is_not(None))
        .values(claim_until=now + CLAIM_LEASE)
    )


def release(connection: Connection, action_id: str, claimer: Claimer) -> None:
    """End this process's lease: the action is done, or its run stopped and left it interrupted."""
    connection.execute(
        update(actions).where(actions.c.id == action_id, claimer.owns()).values(claim_until=None)
    )


@dataclass
class Heartbeat:
    """The runner's clients for one claimed action: each AWS client asked for renews the lease."""

    clients: Clients
    engine: Engine
    action_id: str
    claimer: Claimer
    now: Callable[[], datetime]

    def client(self, service: str, region: str | None = None, account_id: str | None = None) -> Any:
        with self.engine.begin() as connection:
            renew(connection, self.action_id, self.claimer, self.now())
        return self.clients.client(service, region, account_id)
