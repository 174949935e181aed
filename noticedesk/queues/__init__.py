"""Queued inputs: the SQS consuming mechanics (receive, keep invisible, delete after commit, dead letters)."""
