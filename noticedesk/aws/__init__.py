"""AWS: one client factory, read-only checks (diagnosis) and guarded actions (fixes)."""
