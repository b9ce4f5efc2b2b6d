"""A real SMTP server on 127.0.0.1 for mail tests: accepts every message and keeps it parsed.

Apprise's email service (`mailto://127.0.0.1:PORT?mode=insecure&...`) sends to it as to any
mail server, so tests read the exact subject and body a mail client would get. It speaks just
enough SMTP for a client that does not log in or start TLS.
"""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from email.message import EmailMessage
from types import TracebackType


class Mailbox:
    """Context manager: `with Mailbox() as box: ... box.url() ... box.messages`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, to: str = "team@example.com", sender: str = "watcher@example.com") -> str:
        """An Apprise URL that mails `to` through this server, in plain SMTP."""
        assert self._server is not None, "use the mailbox as a context manager"
        port = self._server.server_address[1]
        return f"mailto://127.0.0.1:{port}?mode=insecure&from={sender}&to={to}"

    def __enter__(self) -> Mailbox:
        box = self

        class Session(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.reply("220 loopback ESMTP")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        self.reply("250-loopback\r\n250 8BITMIME")
                    elif verb == b"DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        box._keep(self.data())
                        self.reply("250 kept")
                    elif verb == b"QUIT":
                        self.reply("221 bye")
                        return
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 ok")

            def data(self) -> bytes:
                lines: list[bytes] = []
                while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                return b"".join(lines)

            def reply(self, text: str) -> None:
                self.wfile.write(text.encode("ascii") + b"\r\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Session)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _keep(self, raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
