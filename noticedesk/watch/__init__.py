"""``noticedesk watch``: the long-running process that reads mailboxes and queues as mail arrives,
files it as ``triage`` does, runs the deadline clocks and sends the notifications (docs/watch.md)."""
