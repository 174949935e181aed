"""Notifications: events worth telling someone, an outbox in the store, channels that deliver."""
