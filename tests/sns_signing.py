"""Test helpers: a self-made RSA key and X.509 certificate that sign SNS messages like SNS does.

The canonical string is built here independently of ``noticedesk.feedback.sns_verify``, field by
field, so a verifier that builds the wrong string fails the tests.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:us-east-1:111122223333:ses-feedback"
CERT_HOST = "sns.us-east-1.amazonaws.com"
CERT_NAME = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
CERT_URL = f"https://{CERT_HOST}/{CERT_NAME}"


@cache
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def certificate_pem(not_before: datetime = datetime(2026, 1, 1, tzinfo=UTC), days: int = 730) -> bytes:
    key = signing_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def seed_certificate(directory: Path, pem: bytes | None = None) -> Path:
    path = directory / CERT_HOST / CERT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem or certificate_pem())
    return path


def canonical(message: dict[str, Any]) -> bytes:
    """Written out by hand from the AWS documentation, not shared with the code under test."""
    text = "Message\n" + message["Message"] + "\n"
    text += "MessageId\n" + message["MessageId"] + "\n"
    if message["Type"] == "Notification":
        if "Subject" in message:
            text += "Subject\n" + message["Subject"] + "\n"
    else:
        text += "SubscribeURL\n" + message["SubscribeURL"] + "\n"
    text += "Timestamp\n" + message["Timestamp"] + "\n"
    if message["Type"] != "Notification":
        text += "Token\n" + message["Token"] + "\n"
    text += "TopicArn\n" + message["TopicArn"] + "\n"
    text += "Type\n" + message["Type"] + "\n"
    return text.encode("utf-8")


def sign(message: dict[str, Any], version: str = "2") -> dict[str, Any]:
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = signing_key().sign(canonical(message), padding.PKCS1v15(), algorithm)
    return {
        **message,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode("ascii"),
        "SigningCertURL": message.get("SigningCertURL", CERT_URL),
    }


def notification(
    payload: dict[str, Any],
    at: datetime,
    version: str = "2",
    subject: str | None = None,
    topic: str = TOPIC,
    message_id: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": json.dumps(payload),
        "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": f"https://{CERT_HOST}/?Action=Unsubscribe&SubscriptionArn={topic}:1",
    }
    if subject is not None:
        message["Subject"] = subject
    return sign(message, version)


def confirmation(at: datetime, kind: str = "SubscriptionConfirmation", version: str = "1") -> dict[str, Any]:
    token = "2336412f37fb687f5d51e6e2425a8a58" * 4
    message = {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm, visit the SubscribeURL.",
        "SubscribeURL": f"https://{CERT_HOST}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={token}",
        "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SigningCertURL": CERT_URL,
    }
    return sign(message, version)


def bounce(
    address: str,
    feedback_id: str,
    kind: str = "Permanent",
    sub: str = "General",
    at: str = "2026-11-28T11:00:00.000Z",
) -> dict[str, Any]:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "feedbackId": feedback_id,
            "bounceType": kind,
            "bounceSubType": sub,
            "bouncedRecipients": [{"emailAddress": address}],
            "timestamp": at,
        },
        "mail": {
            "timestamp": at,
            "messageId": f"ses-{feedback_id}",
            "source": "noreply@mail.example.jp",
            "sourceArn": "arn:aws:ses:us-east-1:111122223333:identity/mail.example.jp",
            "sendingAccountId": "111122223333",
            "destination": [address],
        },
    }
