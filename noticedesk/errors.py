"""The one exception hierarchy of NoticeDesk.

    NoticeDeskError                 anything NoticeDesk raises on purpose
    ├── ConfigError                 a configuration file or value that cannot be used
    ├── InputError                  an input that cannot be read (carries the source and index)
    │   ├── SourceError             a path, folder or stream that cannot be opened or split
    │   └── ParseError              one message or event that is not a usable mail / Health event
    ├── StoreError                  the database cannot be reached or migrated
    ├── NotFoundError               a case, action or item that does not exist
    ├── AuthenticityError           a notice that is not verified, where verification is required
    ├── AwsError                    an AWS call failed after retries (access denied, throttled …)
    ├── SnsRejected                 an SNS message whose origin or freshness cannot be proven
    │   └── SnsUnavailable          …cannot be proven now (certificate fetch failed or rationed)
    ├── RemediationError            a fix that was refused or failed
    ├── WatchError                  a watched mailbox or queue cannot be read now (the watcher retries)
    ├── ReplyError                  a reply that cannot be drafted as asked (resolution too early)
    ├── UserError                   a dashboard user that cannot be added, changed or found as asked
    └── NotifyError                 a notification that cannot be sent, or a channel not usable
        └── DeliveryError           one attempt failed (``permanent``: no later try can succeed)

Command-line code catches ``NoticeDeskError`` and prints its one-line message; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations


class NoticeDeskError(Exception):
    """Base class: the message is meant for the person at the terminal."""


class ConfigError(NoticeDeskError):
    pass


class InputError(NoticeDeskError):
    def __init__(self, source: str, message: str, index: int | None = None) -> None:
        self.source = source
        self.index = index
        self.reason = message
        where = source if index is None else f"{source} [message {index}]"
        super().__init__(f"{where}: {message}")


class SourceError(InputError):
    pass


class ParseError(InputError):
    pass


class StoreError(NoticeDeskError):
    pass


class NotFoundError(NoticeDeskError):
    pass


class AuthenticityError(NoticeDeskError):
    pass


class AwsError(NoticeDeskError):
    pass


class RemediationError(NoticeDeskError):
    pass


class SnsRejected(NoticeDeskError):
    """The webhook answers 403 and logs ``reason``; nothing of the message is stored."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"SNS message rejected: {reason}")


class SnsUnavailable(SnsRejected):
    """The webhook answers 503, so SNS delivers again later: the check could not be made now."""


class ReplyError(NoticeDeskError):
    pass


class WatchError(NoticeDeskError):
    """``noticedesk watch`` logs it with the source's name and tries that source again later."""


class UserError(NoticeDeskError):
    """Adding, changing or removing a dashboard user could not be done (name taken, weak password)."""


class NotifyError(NoticeDeskError):
    pass


class DeliveryError(NotifyError):
    """One send failed; the message never holds a webhook URL, a password or a token."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)
