"""The channels a notification can go out on, and the one place that builds them from the configuration."""
