"""Configuration: a TOML file (``--config`` / ``NOTICEDESK_CONFIG``) read once, validated, passed down.

Nothing reads configuration at import time; commands build a ``Config`` and hand it on.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from noticedesk.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DkimConfig(_Section):
    keys_file: Path | None = None
    """Lines of ``SELECTOR._domainkey.DOMAIN  TXT-RECORD-TEXT`` used instead of DNS."""
    dns_timeout_seconds: float = 3.0


class SnsConfig(_Section):
    certificate_dir: Path | None = None
    allowed_topics: list[str] = Field(default_factory=list)
    max_age_seconds: float = 3600.0
    """A message whose signed ``Timestamp`` is older than this (or this far in the future) is stale."""
    certificate_ttl_seconds: float = 86_400.0
    """How long a signing certificate stays in the in-memory cache."""
    failure_ttl_seconds: float = 30.0
    """How long a failed certificate fetch is remembered (short: one network blip must not stick)."""
    fetch_timeout_seconds: float = Field(default=3.0, gt=0)
    """The whole certificate fetch, connection to last byte."""
    certificate_fetches_per_minute: int = Field(default=30, ge=1)
    """Fetches started in any minute; beyond, a message needing one is answered 503 (SNS retries)."""


class InputConfig(_Section):
    """``[input]``: how much one input may be, whatever reads it (triage, SES import)."""

    max_message_mib: float = Field(default=50.0, gt=0)
    """A mail, Health document or mbox message larger than this is refused, not read into memory."""

    @property
    def max_message_bytes(self) -> int:
        return int(self.max_message_mib * 1024 * 1024)


class ClockDefaults(_Section):
    reply_by_hours: float | None = None
    enforcement_hours: float | None = None


class SendersConfig(_Section):
    extra_domains: list[str] = Field(default_factory=list)
    """More sender domains to trust as AWS's (appended to the built-in allow-list)."""


class AuthenticityConfig(_Section):
    trusted_authserv_ids: list[str] = Field(default_factory=list)
    """Receivers whose Authentication-Results are believed, e.g. ``["mx.google.com"]``."""
    trusted_arc_sealers: list[str] = Field(default_factory=list)
    """ARC-Seal d= domains of forwarders whose recorded DKIM results are believed, e.g. ``["google.com"]``."""


class DiagnoseConfig(_Section):
    """``[diagnose]``: the account's normal shape, so the checks can tell what is unusual."""

    usual_regions: list[str] = Field(default_factory=list)
    """Regions the account normally uses; instances elsewhere are flagged. Empty: not judged."""
    recent_days: int = Field(default=7, ge=0)
    """Users, keys, roles, functions and instances created this recently are flagged (0: off)."""
    key_max_age_days: int = Field(default=90, ge=1)
    """Active access keys older than this are flagged for rotation."""
    lookback_days: int = Field(default=90, ge=1, le=90)
    """How far back CloudTrail is searched (LookupEvents keeps 90 days)."""
    trusted_accounts: list[str] = Field(default_factory=list)
    """Other accounts that roles may trust without being flagged (e.g. your organisation's)."""
    concurrency: int = Field(default=16, ge=1, le=64)
    role_name: str | None = None
    """Role assumed in the case's account to read it (``--role-name`` wins; None: own credentials)."""


class FixesConfig(_Section):
    max_resources_per_run: int = Field(default=20, ge=1)
    """Blast-radius limit: `fix apply` refuses a run that would touch more resources than this."""
    role_name: str | None = None
    """Role assumed in the case's account to apply fixes (None: the caller's own credentials)."""


class SesConfig(_Section):
    """The SES feedback loop: suppression policy, rate alarms, sync to SES."""

    warn_bounce_rate: float = 0.025
    """Warn well below AWS's review level (a bounce rate of 5 % or more)."""
    warn_complaint_rate: float = 0.0005
    """Warn well below AWS's review level (a complaint rate of 0.1 % or more)."""
    critical_bounce_rate: float = 0.04
    """Page (open an early-warning case) just before AWS's review level of 5 %."""
    critical_complaint_rate: float = 0.0008
    """Page just before AWS's review level of 0.1 %."""
    min_sends: int = 100
    """Below this many sends in the window a rate is shown but raises no alarm (too noisy)."""
    rate_window_days: float = 14.0
    transient_limit: int = 3
    transient_window_days: float = 7.0
    mailbox_full_limit: int = 5
    mailbox_full_window_days: float = 30.0
    transient_expiry_days: float = 30.0
    """A suppression earned by repeated soft bounces lifts this long after the last of them."""
    undetermined_escalate_after: int = 3
    regions: list[str] = Field(default_factory=lambda: ["us-east-1"])
    """Regions whose CloudWatch ``Reputation.*`` metrics and suppression list are read."""
    sync_calls_per_second: float = 5.0


class WebConfig(_Section):
    api_tokens: list[str] = Field(default_factory=list)
    """Bearer tokens that may call ``/api/*``. Required before serving on a non-loopback address."""
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    """A request must arrive whole (headers and body) this soon after the server waits for it."""
    max_connections: int = Field(default=1000, ge=1)
    """Connections served at once; beyond, a request is answered 503 at once."""
    session_idle_minutes: float = Field(default=30.0, gt=0)
    """A dashboard session ends after this long without a request."""
    session_max_hours: float = Field(default=12.0, gt=0)
    """…and this long after its login, however busy."""
    login_attempts: int = Field(default=5, ge=1)
    """Failed logins allowed per user name and per client address in ``login_window_minutes``;
    beyond, ``POST /login`` answers 429 until the window has passed."""
    login_window_minutes: float = Field(default=15.0, gt=0)
    api_token_role: Literal["viewer", "operator", "admin"] = "viewer"
    """What a caller presenting one of ``api_tokens`` may do (a machine: read by default)."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses of reverse proxies in front of the server: only from these are
    ``X-Forwarded-Proto``/``-For`` believed, and ``user_header`` when set."""
    user_header: str | None = None
    """SSO behind a trusted proxy: the header naming the logged-in user (``X-Forwarded-User``);
    the name must be a user of ``noticedesk users`` (their role applies). Ignored from any
    address not in ``trusted_proxies``."""


class ImapConfig(_Section):
    """``[watch.imap]``: the mailbox ``noticedesk watch`` reads (the password never in the file)."""

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Default 993 with ``tls`` (implicit TLS), else 143."""
    username: str
    password_env: str | None = None
    """The environment variable holding the password."""
    password_file: Path | None = None
    """A file holding the password (its first line), e.g. a systemd credential or a mounted secret."""
    folder: str = "INBOX"
    processed_folder: str | None = None
    """Filed mails are moved here (created when missing); unset: they stay, flagged ``\\Seen`` and
    ``$NoticeDeskFiled``."""
    tls: bool = True
    """Implicit TLS (port 993). With ``tls = false``, ``starttls`` upgrades the connection; a
    connection with neither is allowed to a loopback address only (a password never crosses a
    network in clear)."""
    starttls: bool = False
    ca_file: Path | None = None
    """Certificates to trust for the server (a self-signed one); unset: the system's."""
    idle: bool = True
    """Wait with IMAP IDLE when the server offers it (new mail is read within a second); else poll."""
    timeout_seconds: float = Field(default=30.0, gt=0)


class PostureConfig(_Section):
    """``[watch.posture]``: the scheduled posture scan of every registered account (off when absent)."""

    every_hours: float = Field(default=24.0, gt=0)
    """An account is read again once nothing (this scan, ``noticedesk diagnose``) read it for this long."""
    checks: list[str] = Field(default_factory=list)
    """Diagnosis check ids to run (``noticedesk checks``); empty: every check."""
    min_severity: Literal["low", "medium", "high", "critical"] = "high"
    """A failed check at or above this opens (or notes) an early-warning case."""


class WatchConfig(_Section):
    """``[watch]``: what ``noticedesk watch`` reads and how often it looks."""

    maildirs: list[Path] = Field(default_factory=list)
    """Maildir folders: each mail in ``new/`` is filed, then moved to ``cur/`` (flagged seen)."""
    health_queue_url: str | None = None
    """The SQS queue an EventBridge rule sends AWS Health events to (docs/watch.md)."""
    imap: ImapConfig | None = None
    posture: PostureConfig | None = None
    poll_seconds: float = Field(default=10.0, gt=0)
    """How often the Maildirs, the queue, and a mailbox without IDLE are looked at."""
    clock_seconds: float = Field(default=60.0, gt=0)
    """How often the deadlines (``[notify] deadline_warnings_hours``) and the SES alarms are checked."""
    missed_within_hours: float = Field(default=72.0, ge=0)
    """A deadline missed longer ago than this raises no ``deadline.missed`` (a store full of old
    cases, watched for the first time, does not page about each of them)."""
    batch_size: int = Field(default=25, ge=1, le=500)
    """Messages filed in one transaction, then marked read; a stop waits for at most one batch."""


class WorkerConfig(_Section):
    """``[worker]``: the queues ``noticedesk worker`` consumes (docs/deploy.md). Unset: not consumed."""

    ses_queue_url: str | None = None
    """SES feedback: an SNS topic of bounces, complaints, deliveries subscribed by this queue."""
    health_queue_url: str | None = None
    """AWS Health events: an EventBridge rule (source aws.health) targeting this queue."""
    mail_queue_url: str | None = None
    """Inbound notice mail: the S3 event notifications of the bucket SES receiving writes to."""
    dead_letter_queue_url: str | None = None
    """Where poison messages go (their reason is stored either way); unset: the queue's redrive policy."""
    batch_size: int = Field(default=10, ge=1, le=10)
    """Messages per receive (SQS gives at most 10)."""
    visibility_timeout_seconds: int = Field(default=60, ge=2, le=43_200)
    """How long a received batch stays invisible to other workers; extended while it is worked on."""
    wait_seconds: int = Field(default=10, ge=0, le=20)
    """Long-poll wait; also how long a stopping worker may wait for a receive in flight to return."""
    max_receives: int = Field(default=5, ge=1)
    """A message received more often than this without success is dead-lettered."""
    metrics_port: int | None = Field(default=None, ge=0, le=65_535)
    """Serve /healthz, /readyz and /metrics on 127.0.0.1:PORT (``--metrics-port`` wins)."""
    metrics_host: str = "127.0.0.1"
    """Address of that listener (0.0.0.0 in a container, so Prometheus can scrape it)."""


class DisplayConfig(_Section):
    timezone: str | None = None
    """IANA time zone of the times a terminal shows (``Asia/Tokyo``); unset: the system's. JSON
    output stays UTC."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone_of(value)
        return value


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Asia/Tokyo``, ``UTC``); a ValueError naming it if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Tokyo or UTC)") from error


class SecretRef(_Section):
    """Where a secret is read from, never the secret itself: ``{ env = "NAME" }`` or ``{ file = "PATH" }``."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError('give exactly one of env = "VARIABLE" or file = "PATH"')
        return self


class _HttpChannel(_Section):
    url: SecretRef
    """The webhook URL (it grants posting: a secret), from an environment variable or a file."""
    timeout_seconds: float = Field(default=10.0, gt=0)


class SlackChannel(_HttpChannel):
    type: Literal["slack"]


class TeamsChannel(_HttpChannel):
    type: Literal["teams"]


class WebhookChannel(_HttpChannel):
    type: Literal["webhook"]
    secret: SecretRef
    """The HMAC-SHA256 key the receiver checks ``X-NoticeDesk-Signature`` with."""


class EmailChannel(_Section):
    type: Literal["email"]
    host: str
    port: int | None = None
    """Default: 465 with ``security = "tls"``, 587 with ``starttls``, 25 with ``none``."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    sender: str
    to: list[str] = Field(default_factory=list)
    owners: bool = True
    """Also write to the owner contacts of the event's account."""
    ca_file: Path | None = None
    """CA certificates to trust for the server's TLS certificate (default: the system's)."""
    timeout_seconds: float = Field(default=20.0, gt=0)

    @model_validator(mode="after")
    def _password_only_over_tls(self) -> EmailChannel:
        if self.security == "none" and (self.username or self.password):
            raise ValueError('a login needs security = "starttls" or "tls": a password is not sent in clear')
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]


ChannelConfig = Annotated[
    SlackChannel | TeamsChannel | WebhookChannel | EmailChannel, Field(discriminator="type")
]


class NotifyConfig(_Section):
    """``[notify]``: the channels notifications go to and how hard delivery tries."""

    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    """``[notify.channels.NAME]``; a channel named ``default`` gets what no account routes."""
    default_channel: str | None = None
    """The channel for events of unregistered accounts or accounts without channels (else ``default``)."""
    language: Literal["en", "ja"] = "en"
    """The language of messages about accounts not in the registry."""
    max_tries: int = Field(default=8, ge=1)
    """Attempts per message before it is marked failed (then `noticedesk notifications --failed`)."""
    backoff_seconds: float = Field(default=30.0, gt=0)
    """Wait after the first failed attempt; doubled after each further one, with jitter."""
    backoff_max_seconds: float = Field(default=3600.0, gt=0)
    deadline_warnings_hours: list[float] = Field(default_factory=lambda: [12.0, 2.0])
    """How long before a reply-by or enforcement time the watcher sends ``deadline.approaching``."""

    @model_validator(mode="after")
    def _default_is_a_channel(self) -> NotifyConfig:
        if self.default_channel is not None and self.default_channel not in self.channels:
            raise ValueError(f"default_channel {self.default_channel!r} is not in [notify.channels]")
        return self

    @property
    def default_name(self) -> str:
        return self.default_channel or "default"


class AccountConfig(_Section):
    """One ``[[accounts]]`` entry: an AWS account NoticeDesk looks after."""

    id: str = Field(pattern=r"^\d{12}$")
    name: str = Field(min_length=1)
    contacts: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(default_factory=list)
    language: Literal["en", "ja"] = "en"
    channels: list[str] = Field(default_factory=list)
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    external_id: str | None = None
    regions: list[str] = Field(default_factory=list)


class Config(_Section):
    dkim: DkimConfig = DkimConfig()
    input: InputConfig = InputConfig()
    authenticity: AuthenticityConfig = AuthenticityConfig()
    sns: SnsConfig = SnsConfig()
    ses: SesConfig = SesConfig()
    senders: SendersConfig = SendersConfig()
    diagnose: DiagnoseConfig = DiagnoseConfig()
    fixes: FixesConfig = FixesConfig()
    web: WebConfig = WebConfig()
    display: DisplayConfig = DisplayConfig()
    watch: WatchConfig = WatchConfig()
    worker: WorkerConfig = WorkerConfig()
    clocks: dict[str, ClockDefaults] = Field(default_factory=dict)
    """Per-kind overrides of the default clocks, e.g. ``[clocks.abuse-report] reply_by_hours = 12``."""
    notify: NotifyConfig = NotifyConfig()
    accounts: list[AccountConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _accounts_route_to_channels(self) -> Config:
        seen: set[str] = set()
        for account in self.accounts:
            if account.id in seen:
                raise ValueError(f"account {account.id} is listed twice in [[accounts]]")
            seen.add(account.id)
            unknown = [name for name in account.channels if name not in self.notify.channels]
            if unknown:
                raise ValueError(f"account {account.id}: channel {unknown[0]!r} is not in [notify.channels]")
        return self


def load_config(path: Path | None) -> Config:
    """Read and validate a TOML file; no path means the defaults."""
    if path is None:
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: configuration file not found") from error
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: not readable TOML: {error}") from error
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path}: {problems}") from error
