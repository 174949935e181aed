"""Secrets of the channels (webhook URLs, HMAC keys, SMTP passwords), read from env or a file.

Only where they are read: never in an error message, a log line or the store.
"""

from __future__ import annotations

import os

from noticedesk.config import SecretRef
from noticedesk.errors import ConfigError


def read_secret(ref: SecretRef, what: str) -> str:
    """The secret ``ref`` points to; a ConfigError naming where it was looked for, not its value."""
    if ref.env is not None:
        value = os.environ.get(ref.env, "")
        if not value.strip():
            raise ConfigError(f"{what}: environment variable {ref.env} is not set")
        return value.strip()
    assert ref.file is not None  # SecretRef holds exactly one of env and file
    try:
        value = ref.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise ConfigError(f"{what}: secret file {ref.file} cannot be read: {reason}") from None
    if not value.strip():
        raise ConfigError(f"{what}: secret file {ref.file} is empty")
    return value.strip()
