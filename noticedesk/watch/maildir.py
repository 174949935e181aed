"""A Maildir as a watched source: each mail in ``new/`` is filed, then moved to ``cur/`` as seen.

A mail is moved only after its case is committed; a crash in between reads it again, and the
dedupe key (its Message-ID, else its bytes) files it as a duplicate. A symlink in ``new/`` is
never followed (an unattended reader must not store ``/etc/shadow``): it is left where it is.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from noticedesk.mail.readers import read_sources
from noticedesk.watch.sources import Arrival

log = logging.getLogger(__name__)


class MaildirSource:
    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.name = f"maildir:{folder}"
        self._warned: set[str] = set()

    def take(self, limit: int) -> list[Arrival]:
        new = self.folder / "new"
        try:
            names = sorted(name for name in os.listdir(new) if not name.startswith("."))
        except FileNotFoundError:
            return []
        arrivals: list[Arrival] = []
        for name in names:
            if len(arrivals) >= limit:
                break
            path = new / name
            if path.is_symlink() or not path.is_file():
                if name not in self._warned:
                    self._warned.add(name)
                    log.warning("maildir entry left alone: not a plain file", extra={"source": str(path)})
                continue
            arrivals.extend(
                Arrival(item, path) for item in read_sources([str(path)], max_bytes=self.max_bytes)
            )
        return arrivals

    def filed(self, arrivals: list[Arrival]) -> None:
        for path in dict.fromkeys(arrival.token for arrival in arrivals):
            assert isinstance(path, Path)
            name = path.name if ":2," in path.name else f"{path.name}:2,S"
            with contextlib.suppress(FileNotFoundError):  # a mail client moved it first
                os.replace(path, self.folder / "cur" / name)

    def close(self) -> None:
        pass
