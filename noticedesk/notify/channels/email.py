"""E-mail over SMTP: STARTTLS or implicit TLS, AUTH, text and HTML, threaded per case.

Every message about one case refers to the same thread root (``In-Reply-To``/``References``:
``<case-42.noticedesk@DOMAIN>``), which the case.opened message carries as its own Message-ID,
so a mail client shows a case as one conversation. Each message's own Message-ID is derived from
its delivery, so a retry of the same message has the same id.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from noticedesk.clock import Clock, utc_now
from noticedesk.errors import DeliveryError
from noticedesk.notify.messages import Message


@cache
def _html() -> Environment:
    return Environment(
        loader=PackageLoader("noticedesk.notify", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _one_line(text: str) -> str:
    """A header value: a notice's subject may carry line breaks or control characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def thread_root(case_id: str, domain: str) -> str:
    return f"<case-{case_id}.noticedesk@{domain}>"


def message_id(message: Message, domain: str) -> str:
    if message.kind == "case.opened" and message.case_id:
        return thread_root(message.case_id, domain)
    digest = hashlib.sha256(f"{message.dedupe_key}|{message.delivery_id}".encode()).hexdigest()[:24]
    return f"<{digest}.noticedesk@{domain}>"


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH PLAIN when the server offers it (over TLS), else whatever ``login`` picks.

    ``login`` tries each mechanism in turn after a refusal: one wrong password would count as
    two or three failed logins against a lockout policy.
    """
    client.ehlo_or_helo_if_needed()
    if "plain" in client.esmtp_features.get("auth", "").lower().split():
        client.user, client.password = username, password
        client.auth("PLAIN", client.auth_plain)
    else:
        client.login(username, password)


@dataclass
class EmailChannel:
    name: str
    host: str
    port: int
    sender: str
    to: tuple[str, ...] = ()
    security: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    owners: bool = True
    ca_file: Path | None = None
    timeout_seconds: float = 20.0
    clock: Clock = utc_now

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r}, host={self.host!r}, port={self.port})"

    @property
    def domain(self) -> str:
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "noticedesk.invalid"

    def recipients(self, message: Message) -> list[str]:
        wanted = list(self.to) + (list(message.contacts) if self.owners else [])
        return list(dict.fromkeys(address for address in wanted if address))

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients(message))
        mail["Subject"] = f"[NoticeDesk] {_one_line(message.title)}"
        mail["Date"] = format_datetime(self.clock())
        mail["Message-ID"] = message_id(message, self.domain)
        if message.case_id and message.kind != "case.opened":
            root = thread_root(message.case_id, self.domain)
            mail["In-Reply-To"] = root
            mail["References"] = root
        mail["X-NoticeDesk-Event"] = message.kind
        mail["X-NoticeDesk-Delivery"] = message.delivery_id
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
        mail.set_content(message.text)
        mail.add_alternative(_html().get_template("email.html.j2").render(message=message), subtype="html")
        return mail

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_seconds, context=self._tls())
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        if self.security == "starttls":
            client.starttls(context=self._tls())
        return client

    def send(self, message: Message) -> None:
        recipients = self.recipients(message)
        if not recipients:
            raise DeliveryError(
                f"channel {self.name}: no recipients (to = [] and no owner contacts)", permanent=True
            )
        mail = self.compose(message)
        where = f"channel {self.name} ({self.host}:{self.port})"
        try:
            with self._connect() as client:
                if self.username:
                    _login(client, self.username, self.password or "")
                client.send_message(mail, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(f"{where}: login refused ({error.smtp_code})", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _ in error.recipients.values()})
            raise DeliveryError(
                f"{where}: recipients refused ({', '.join(map(str, codes))})",
                permanent=all(c >= 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as error:
            text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else ""
            raise DeliveryError(
                f"{where}: server answered {error.smtp_code} {' '.join(text.split())[:200]}",
                permanent=500 <= error.smtp_code < 600 and error.smtp_code != 554,
            ) from None
        except ssl.SSLError as error:
            raise DeliveryError(f"{where}: TLS failed ({error.reason or type(error).__name__})") from None
        except (smtplib.SMTPException, OSError) as error:  # refused, reset, timed out
            raise DeliveryError(
                f"{where}: {type(error).__name__}: {' '.join(str(error).split())[:200]}"
            ) from None
