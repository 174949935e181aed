"""The channels of ``[notify.channels]``, built once with their secrets read; the one factory."""

from __future__ import annotations

from noticedesk.clock import Clock
from noticedesk.config import EmailChannel as EmailSettings
from noticedesk.config import NotifyConfig
from noticedesk.config import SlackChannel as SlackSettings
from noticedesk.config import TeamsChannel as TeamsSettings
from noticedesk.config import WebhookChannel as WebhookSettings
from noticedesk.errors import ConfigError
from noticedesk.notify.channels import DEFAULT_CHANNEL
from noticedesk.notify.channels.base import Channel
from noticedesk.notify.channels.email import EmailChannel
from noticedesk.notify.channels.slack import SlackChannel
from noticedesk.notify.channels.teams import TeamsChannel
from noticedesk.notify.channels.webhook import WebhookChannel
from noticedesk.notify.secrets import read_secret


def build_channel(config: NotifyConfig, name: str, *, clock: Clock | None = None) -> Channel:
    """Channel ``name`` (``default`` is ``[notify] default_channel`` when that is set)."""
    if name == DEFAULT_CHANNEL and config.default_channel and DEFAULT_CHANNEL not in config.channels:
        name = config.default_channel
    settings = config.channels.get(name)
    if settings is None:
        known = ", ".join(sorted(config.channels)) or "none configured"
        raise ConfigError(f"no channel {name!r} in [notify.channels] ({known})")
    where = f"[notify.channels.{name}]"
    if isinstance(settings, SlackSettings):
        return SlackChannel(name, read_secret(settings.url, f"{where} url"), settings.timeout_seconds)
    if isinstance(settings, TeamsSettings):
        return TeamsChannel(name, read_secret(settings.url, f"{where} url"), settings.timeout_seconds)
    if isinstance(settings, WebhookSettings):
        channel = WebhookChannel(
            name,
            read_secret(settings.url, f"{where} url"),
            read_secret(settings.secret, f"{where} secret"),
            settings.timeout_seconds,
        )
        if clock is not None:
            channel.clock = clock
        return channel
    assert isinstance(settings, EmailSettings)
    email = EmailChannel(
        name,
        settings.host,
        settings.effective_port,
        settings.sender,
        tuple(settings.to),
        settings.security,
        settings.username,
        read_secret(settings.password, f"{where} password") if settings.password else None,
        settings.owners,
        settings.ca_file,
        settings.timeout_seconds,
    )
    if clock is not None:
        email.clock = clock
    return email


def build_channels(config: NotifyConfig, *, clock: Clock | None = None) -> dict[str, Channel]:
    """Every configured channel by name, and ``default`` when ``default_channel`` names one."""
    built = {name: build_channel(config, name, clock=clock) for name in config.channels}
    if config.default_channel and DEFAULT_CHANNEL not in built:
        built[DEFAULT_CHANNEL] = built[config.default_channel]
    return built
