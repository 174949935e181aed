"""The channels a notification can go out on, and the one place that builds them from the configuration."""

DEFAULT_CHANNEL = "default"
"""What an event goes to when its account routes it nowhere (``[notify] default_channel`` may name
another channel for it)."""
