"""Notices: what one AWS message says (kind, stage, facts), decided by pure functions over data."""
