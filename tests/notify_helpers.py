"""A real HTTP receiver on 127.0.0.1 for the notification tests: records what it is sent and
answers with the statuses it is told to (then 200)."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)
    """Statuses to answer with, in order, before answering 200 to everything."""
    requests: list[Received] = field(default_factory=list)

    @property
    def delivered(self) -> list[Received]:
        return [request for request in self.requests if 200 <= request.status < 300]


@contextmanager
def receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    lock = threading.Lock()
    state = Receiver(url="", statuses=list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                status = state.statuses.pop(0) if state.statuses else 200
                state.requests.append(Received(self.path, dict(self.headers.items()), body, status))
            reply = b"ok" if status < 300 else b"receiver trouble"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# A real SMTP server (aiosmtpd) on 127.0.0.1, with a self-signed certificate for STARTTLS or
# implicit TLS, and AUTH of one user.
SMTP_USER = "notifier"
SMTP_PASSWORD = "smtp-pass-5up3r-secret"


@dataclass
class SmtpSink:
    port: int
    ca_file: Path
    mails: list[tuple[list[str], bytes]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files in ``folder``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def smtp_sink(folder: Path, *, security: str) -> Iterator[SmtpSink]:
    """An SMTP server: ``security`` is ``starttls`` (required before AUTH and MAIL) or ``tls``."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert_file, key_file = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    sink = SmtpSink(port=_free_port(), ca_file=cert_file)

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            sink.mails.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
            return "250 OK"

    def authenticator(server: object, session: object, envelope: object, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            sink.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    options: dict[str, Any] = {"authenticator": authenticator, "auth_required": True}
    if security == "starttls":
        options.update(tls_context=context, require_starttls=True)
    else:
        # aiosmtpd counts only STARTTLS as TLS for AUTH: on an implicit-TLS port it must be told
        # AUTH is fine (and warns that it is, which the tests would take as an error).
        options.update(ssl_context=context, auth_require_tls=False)

    class QuietController(Controller):  # type: ignore[misc]
        def factory(self) -> Any:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
                return super().factory()

    controller = QuietController(
        Handler(), hostname="127.0.0.1", port=sink.port, server_hostname="localhost", **options
    )
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
