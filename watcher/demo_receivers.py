"""The demo's two local receivers: a chat service and a webhook endpoint, both on loopback.

The demo sends through the real delivery path (outbox, dispatcher, Apprise, signed webhooks),
so what it shows is what a user would get. The chat receiver takes Apprise's `json://`
posts of messages built in Discord's Markdown and prints them as Discord would show them; the
webhook receiver checks every signature with the standardwebhooks library, as a receiver
should, and says whether it held. Each keeps its lines until the demo prints them, so they
appear after the round that caused them, not in the middle of its narration.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from watcher.printable import printable
from watcher.wording import describe_envelope

# Discord's own limits, which Apprise's Discord plugin applies: a message over 2,000
# characters is sent as several, so the demo's chat messages are cut as Discord's would be.
DISCORD_BODY_MAX = 2000
DISCORD_TITLE_MAX = 256

_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_ESCAPED = re.compile(r"\\(.)")
_BOLD = re.compile(r"\*\*(.*?)\*\*")


def as_discord_shows(markdown: str) -> str:
    """Markdown as a Discord reader sees it: bold as plain text, links as `text <url>`,
    escapes resolved, zero-width spaces (which stop mentions) invisible."""
    text = _BOLD.sub(r"\1", markdown)
    text = _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", text)
    text = re.sub(r"^- ", "• ", text, flags=re.MULTILINE)
    return _ESCAPED.sub(r"\1", text).replace("\u200b", "")


class _Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 at an ephemeral port, collecting printable lines."""

    path = "/"

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = owner.receive(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return  # the demo prints what matters itself

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        raise NotImplementedError

    def note(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    def take(self) -> list[str]:
        """The lines received since the last call."""
        with self._lock:
            lines, self._lines = self._lines, []
        return lines

    def __enter__(self) -> _Receiver:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class ChatReceiver(_Receiver):
    """Stands in for Discord: Apprise posts `{"title", "message"}` to it (`json://`)."""

    path = "/discord"

    @property
    def apprise_url(self) -> str:
        """Markdown (json:// asked for it: the renderer of services watcher knows nothing of,
        escaped and with mass mentions defused), shown as Discord would show it."""
        return self.url.replace("http://", "json://", 1) + "?format=markdown"

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        message = json.loads(body)
        self.note(f"  chat | {printable(as_discord_shows(str(message.get('title', ''))))}")
        for line in as_discord_shows(str(message.get("message", ""))).splitlines():
            self.note(f"  chat | {printable(line)}")
        return 200


class WebhookReceiver(_Receiver):
    """A receiver that verifies every signature before it believes a body."""

    path = "/hooks/watcher"

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._webhook = Webhook(secret)
        self.verified = 0

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        lowered = {name.lower(): value for name, value in headers.items()}
        try:
            envelope = self._webhook.verify(body, lowered)
        except WebhookVerificationError as exc:
            self.note(f"  webhook REJECTED (bad signature: {exc})")
            return 401
        self.verified += 1
        self.note(f"  webhook verified: {_summary(envelope)}")
        return 204


def _summary(envelope: dict[str, Any]) -> str:
    """`@tastemaker followed @artist_12 (Artist Twelve) [evt_...]` from a verified envelope."""
    try:
        what = describe_envelope(envelope)
    except (KeyError, TypeError, AttributeError):
        what = str(envelope.get("type"))
    return printable(f"{what} [{envelope.get('id')}]")
