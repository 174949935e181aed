"""The web side: the SNS webhook and the JSON API (a dashboard can be added to the same app)."""
