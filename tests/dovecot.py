"""A real Dovecot IMAP server for the tests: its own configuration in a temp folder, loopback ports.

No root service, no systemd: ``dovecot -c FILE`` runs its master process with every path (sockets,
state, log, mail) under one folder, serves IMAP on a plaintext port and IMAPS with a self-signed
certificate made here, and stops with the fixture. Users live in a passwd-file; ``add_user`` gives
each test a mailbox of its own (Dovecot reads the file again when it changes).
Run as root (CI containers), Dovecot wants its login and internal processes unprivileged: the
Debian package's ``dovenull`` and ``dovecot`` users; otherwise everything runs as the caller.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from tests.notify_helpers import self_signed

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "secret-pass-1"
USERS = 300
"""Made at start: Dovecot may not see a passwd-file changed twice within its mtime's second."""


@dataclass
class Dovecot:
    folder: Path
    imap_port: int
    imaps_port: int
    ca_file: Path
    _users: int = 0

    def add_user(self) -> str:
        """A user not handed out before (an empty INBOX); its password is ``PASSWORD``."""
        self._users += 1
        if self._users > USERS:
            raise RuntimeError(f"only {USERS} users in this Dovecot")
        return f"user{self._users}"

    def client(self, user: str, password: str = PASSWORD) -> IMAPClient:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient("127.0.0.1", port=self.imaps_port, ssl=True, ssl_context=context, timeout=10)
        client.login(user, password)
        return client

    def append(self, user: str, *messages: bytes, folder: str = "INBOX") -> None:
        client = self.client(user)
        try:
            for message in messages:
                client.append(folder, message)
        finally:
            client.logout()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _users() -> tuple[str, str, str, tuple[int, int]]:
    """(internal user, its group, login user, mail owner uid/gid) for this process."""
    if os.getuid() != 0:
        me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        return me, group, me, (os.getuid(), os.getgid())
    internal = pwd.getpwnam("dovecot")
    return "dovecot", grp.getgrgid(internal.pw_gid).gr_name, "dovenull", (internal.pw_uid, internal.pw_gid)


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    # Short and world-traversable: unix socket paths are capped at 108 bytes, and the unprivileged
    # login processes must reach them (pytest's own tmp folders are private to the caller).
    folder = Path(tempfile.mkdtemp(prefix="nd-imap-", dir="/tmp"))
    folder.chmod(0o755)
    internal, group, login, owner = _users()
    cert_file, key_file = self_signed(folder)  # the SMTP sink's: a certificate for 127.0.0.1
    key_file.chmod(0o600)
    (folder / "passwd").write_text("".join(f"user{n}:{{PLAIN}}{PASSWORD}\n" for n in range(1, USERS + 1)))
    (folder / "home").mkdir()
    os.chown(folder / "home", *owner)
    imap_port, imaps_port = _free_port(), _free_port()
    config = folder / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
instance_name = nd-test-{folder.name}
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 0
ssl = yes
ssl_cert = <{cert_file}
ssl_key = <{key_file}
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={owner[0]} gid={owner[1]} home={folder}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    # The master forks into the background: no pipes it would keep open after the parent returned.
    with (folder / "start.log").open("wb") as start_log:
        subprocess.run(
            [DOVECOT, "-c", str(config)], check=True, stdout=start_log, stderr=subprocess.STDOUT, timeout=30
        )
    server = Dovecot(folder, imap_port, imaps_port, cert_file)
    try:
        _wait_for_port(imaps_port, folder)
        yield server
    finally:
        _stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_port(port: int, folder: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    log = (folder / "dovecot.log").read_text() if (folder / "dovecot.log").exists() else ""
    raise RuntimeError(f"dovecot did not start: {log[-2000:]}")


def _stop(folder: Path) -> None:
    pid_file = folder / "run" / "master.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
