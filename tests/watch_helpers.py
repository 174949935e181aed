"""Mails for the watcher's tests: distinct AWS abuse reports, and their reminders."""

from __future__ import annotations

from datetime import datetime


def abuse_report(number: int, *, account: str = "111122223333", sent: datetime | None = None) -> bytes:
    """An EC2 abuse report of its own case (its own reference and Message-ID)."""
    date = (sent or datetime(2026, 11, 27, 3, 0)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return f"""From: AWS Abuse <ec2-abuse@amazon.com>
To: ops@example.jp
Subject: Your Amazon EC2 Abuse Report [18100{number:06d}-1] [AWS ID {account}]
Date: {date}
Message-ID: <watch-{number:06d}@amazon.com>
Content-Type: text/plain; charset=UTF-8

Hello,

We have received a report that your AWS resource(s)

Instance Id: i-0a1b2c3d4e5f60718
Public IP: 54.250.10.20
Region: ap-northeast-1

Reported activity: port scanning of remote hosts
Abuse Time: 2026-11-27 02:15:00 UTC
Destination port: 22
Remote IP: 203.0.113.77

Please look into this and reply within 24 hours with the steps you took.
""".replace("\n", "\r\n").encode()


def abuse_reminder(number: int, *, account: str = "111122223333", sent: datetime | None = None) -> bytes:
    """AWS's second warning for the case of ``abuse_report(number)``."""
    date = (sent or datetime(2026, 11, 27, 22, 0)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return f"""From: AWS Abuse <ec2-abuse@amazon.com>
To: ops@example.jp
Subject: Your Amazon EC2 Abuse Report [18100{number:06d}-1] [AWS ID {account}]
Date: {date}
Message-ID: <watch-{number:06d}-reminder@amazon.com>
Content-Type: text/plain; charset=UTF-8

Hello,

We have not yet received a response about instance i-0a1b2c3d4e5f60718
(IP address 54.250.10.20), reported for port scanning of remote hosts.

This is a reminder: please reply within 24 hours with the steps you took.
""".replace("\n", "\r\n").encode()
