"""NoticeDesk: turn the emails AWS sends about an account in trouble into tracked cases."""

__version__ = "0.1.0"
