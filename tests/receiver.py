"""A real HTTP receiver on 127.0.0.1 for sink tests: records requests, answers as scripted.

Sinks are tested against a socket, not a mock, so that headers, bodies, redirects, timeouts and
refused connections behave as they do in production. Replies are scripted in order (then the
default 200); a reply can be held open until the test releases it, to provoke client timeouts
without sleeping.

`Receiver(intercept=True)` also stands in for services on the internet: used as the HTTPS
proxy (`HTTPS_PROXY`), it accepts each `CONNECT`, answers the TLS handshake itself with the
throwaway certificate in `tests/tls/` (the client must not verify it: Apprise URLs take
`verify=no`), and records the request inside the tunnel like any other, its `host` header
naming the service it was meant for. That is how tests read the exact body Apprise's own
Discord, Slack and Telegram plugins would post.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

# A self-signed key and certificate made for these tests only (`openssl req -x509`, valid for
# a century): it guards nothing, and no client is asked to trust it.
LOOPBACK_TLS = Path(__file__).parent / "tls" / "loopback.pem"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    peer_port: int = 0  # the client's port: one per connection

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # When set, the answer waits until the event is set (or the receiver closes).
    hold: threading.Event | None = None


# Inspects each request before it is answered; an exception becomes a 401, like a receiver
# rejecting a bad signature, and is kept in `Receiver.rejections`.
Check = Callable[[Recorded], None]


class Receiver:
    """Context manager: `with Receiver() as rx: ... rx.url("/hook") ... rx.requests`."""

    def __init__(
        self, check: Check | None = None, *, keep_alive: bool = False, intercept: bool = False
    ) -> None:
        self.keep_alive = keep_alive  # HTTP/1.1 persistent connections (default: one per request)
        self._tls: ssl.SSLContext | None = None
        if intercept:  # answer CONNECT: a proxy that reads its clients' HTTPS requests
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(LOOPBACK_TLS)
        self.requests: list[Recorded] = []
        self.rejections: list[str] = []
        self._replies: deque[Reply] = deque()
        self._holds: list[threading.Event] = []
        self._lock = threading.Lock()
        self._check = check
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------

    def reply(self, status: int = 200, headers: dict[str, str] | None = None, **kw: Any) -> None:
        """Queue the answer to the next unanswered request."""
        self.script(Reply(status, dict(headers or {}), **kw))

    def script(self, *replies: Reply) -> None:
        with self._lock:
            for reply in replies:
                if reply.hold is not None:
                    self._holds.append(reply.hold)
                self._replies.append(reply)

    def hold(self) -> threading.Event:
        """Queue a 200 that is only sent once the returned event is set."""
        event = threading.Event()
        self.script(Reply(hold=event))
        return event

    # -- addresses ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "use the receiver as a context manager"
        return int(self._server.server_address[1])

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"

            def _handle(self) -> None:
                receiver._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def do_CONNECT(self) -> None:
                """Open the tunnel, end its TLS here, and serve the one request inside."""
                if receiver._tls is None:
                    self.send_error(405)
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                tunnel = receiver._tls.wrap_socket(self.connection, server_side=True)
                self.rfile = tunnel.makefile("rb")
                self.wfile = tunnel.makefile("wb")
                self.handle_one_request()
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows a failing test's output, and this is noise there."""

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                """A client that gave up (a timeout test) breaks the pipe; that is expected."""

        self._server = Server(("127.0.0.1", 0), Handler)
        # A short poll interval: `shutdown()` waits up to one interval, once per test.
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
        with self._lock:
            for event in self._holds:
                event.set()
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- serving --------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Recorded(
            method=handler.command,
            path=handler.path,
            headers={key.lower(): value for key, value in handler.headers.items()},
            body=body,
            peer_port=handler.client_address[1],
        )
        with self._lock:
            self.requests.append(request)
            reply = self._replies.popleft() if self._replies else Reply()
        if self._check is not None:
            try:
                self._check(request)
            except Exception as exc:
                with self._lock:
                    self.rejections.append(f"{type(exc).__name__}: {exc}")
                reply = Reply(401, body=b'{"error":"bad signature"}')
        if reply.hold is not None:
            reply.hold.wait(timeout=10)
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if reply.body:
            handler.wfile.write(reply.body)
