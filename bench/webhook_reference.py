"""The reference for bench/ses_webhook.py: the least an SNS webhook on SQLite can do.

    python bench/webhook_reference.py PORT DATABASE CERTIFICATE_DIR TOPIC

A Starlette app under uvicorn (one process, the same HTTP stack as ``noticedesk serve``) that
verifies each POST's SNS signature with the same verifier (``SnsVerifier``: allow-listed topic,
pinned certificate URL, fresh timestamp, RSA signature) and then commits one SQLite insert per
message (WAL, ``synchronous=NORMAL``, as NoticeDesk's store) before answering 200. No parsing of
the SES document, no dedupe beyond the primary key, no batching: what NoticeDesk does on top of
this is what the ratio measures.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from noticedesk.config import SnsConfig
from noticedesk.errors import SnsRejected, SnsUnavailable
from noticedesk.feedback.sns_verify import CertificateCache, SnsVerifier


def reference_app(database: Path, certificates: Path, topic: str) -> Starlette:
    config = SnsConfig(certificate_dir=certificates, allowed_topics=[topic])
    verifier = SnsVerifier(config, CertificateCache.from_config(config), lambda: datetime.now(UTC))
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE IF NOT EXISTS received (message_id TEXT PRIMARY KEY, body TEXT)")

    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            message = verifier.verify(body)
        except (SnsRejected, SnsUnavailable):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        # Autocommit: one transaction, one commit, per message.
        connection.execute(
            "INSERT OR IGNORE INTO received VALUES (?, ?)", (message["MessageId"], message["Message"])
        )
        return JSONResponse({"stored": True})

    return Starlette(routes=[Route("/webhooks/sns", webhook, methods=["POST"])])


def main() -> None:
    port, database, certificates, topic = sys.argv[1:5]
    app = reference_app(Path(database), Path(certificates), topic)
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
