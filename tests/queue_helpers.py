"""Building what arrives through SQS in the worker tests and benchmarks: SNS feedback, Health
events, S3 event notifications, notice mails."""

from __future__ import annotations

import json
from typing import Any

from tests.sns_signing import bounce


def sns_envelope(
    message: dict[str, Any], message_id: str, topic: str = "arn:aws:sns:us-east-1:111122223333:ses"
) -> str:
    """What SNS puts in an SQS message (no raw delivery): the notification, its Message a string."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic,
            "Message": json.dumps(message),
            "Timestamp": "2026-11-28T11:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        }
    )


def feedback_body(index: int, recipients: int = 1) -> str:
    """SES notification number ``index`` for ``recipients`` addresses (one event each): mostly
    deliveries, every tenth a bounce, every 50th a complaint; wrapped by SNS as SQS receives it."""
    addresses = [f"user{(index * recipients + n) % 5000}@example.org" for n in range(recipients)]
    at = f"2026-11-28T{10 + index % 2:02d}:{index % 60:02d}:00.000Z"
    if index % 50 == 0:
        document: dict[str, Any] = {
            "notificationType": "Complaint",
            "complaint": {
                "feedbackId": f"fb-c-{index}",
                "complainedRecipients": [{"emailAddress": address} for address in addresses],
                "timestamp": at,
                "complaintFeedbackType": "abuse",
            },
            "mail": _mail(index, addresses, at),
        }
    elif index % 10 == 0:
        document = bounce(addresses[0], f"fb-b-{index}", at=at)
        document["bounce"]["bouncedRecipients"] = [{"emailAddress": address} for address in addresses]
        document["mail"] = _mail(index, addresses, at)
    else:
        document = {
            "notificationType": "Delivery",
            "delivery": {"timestamp": at, "recipients": addresses, "processingTimeMillis": 100},
            "mail": _mail(index, addresses, at),
        }
    return sns_envelope(document, f"sns-{index:08d}")


def _mail(index: int, addresses: list[str], at: str) -> dict[str, Any]:
    return {
        "timestamp": at,
        "messageId": f"ses-msg-{index}",
        "source": "noreply@mail.example.jp",
        "sourceArn": "arn:aws:ses:us-east-1:111122223333:identity/mail.example.jp",
        "sendingAccountId": "111122223333",
        "destination": addresses,
    }


def abuse_mail(index: int) -> bytes:
    """An EC2 abuse report (unsigned): account and case reference repeat, so follow-ups join cases."""
    account = f"{100000000000 + index % 40:012d}"
    case_ref = f"{20000000000 + index % 120}-1"
    ip = f"203.0.113.{index % 250}"
    return (
        "Return-Path: <ec2-abuse@amazon.com>\r\n"
        "From: Amazon EC2 Abuse <ec2-abuse@amazon.com>\r\n"
        "To: infra-team@example.jp\r\n"
        f"Subject: Your Amazon EC2 Abuse Report [{case_ref}] [AWS ID {account}]\r\n"
        "Date: Fri, 27 Nov 2026 23:05:41 +0000\r\n"
        f"Message-ID: <worker-test-{index:06d}@email.amazonses.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="us-ascii"\r\n'
        "\r\n"
        "Hello,\r\n\r\nWe received a report that an EC2 instance in your AWS account took part in\r\n"
        "activity that other networks consider abusive.\r\n\r\n"
        "Please reply to this email within 24 hours with the cause you found.\r\n\r\n"
        "Reported Activity: Port Scanning\r\n"
        "Abuse Time: 27 Nov 2026 21:14:03 GMT\r\n"
        f"Instance Id: i-0a1b2c3d4e5f{index % 1000:05d}\r\n"
        "Region: ap-northeast-1\r\n"
        f"Public IP: {ip}\r\n"
    ).encode()


def s3_event(bucket: str, key: str, size: int) -> str:
    """An S3 event notification for one created object, as S3 sends it to SQS (key URL-encoded)."""
    from urllib.parse import quote_plus

    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2026-11-28T11:00:00.000Z",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                        "object": {"key": quote_plus(key, safe="/"), "size": size},
                    },
                }
            ]
        }
    )
