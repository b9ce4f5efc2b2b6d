"""The daemon's read-only HTTP endpoint: GET /healthz and GET /metrics, nothing else.

A few dozen lines on the daemon's own event loop instead of a web framework: two fixed routes,
no request bodies, one response per connection. Anything else gets 404 (unknown path) or 405
(a method other than GET/HEAD): nothing here changes state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from watcher.metrics import CONTENT_TYPE

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
Scrape = Callable[[], bytes]

MAX_HEAD = 16 * 1024  # request line and headers; a scraper sends a few hundred bytes
READ_TIMEOUT = 5.0
JSON_TYPE = "application/json"

log = logging.getLogger("watcher.http")


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    allow: str | None = None


class HealthServer:
    """Serves /healthz from `health` and /metrics from `scrape` on `host:port`."""

    def __init__(self, host: str, port: int, health: HealthCheck, scrape: Scrape) -> None:
        self._host = host
        self._port = port
        self._health = health
        self._scrape = scrape
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """Bind and serve; returns the base URL (with the real port when `port` was 0)."""
        self._server = await asyncio.start_server(
            self._handle, self._host, self._port, limit=MAX_HEAD
        )
        host, port = self._server.sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Connections are short and bounded by READ_TIMEOUT; do not hold up a shutdown for them.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), timeout=1.0)
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            await _close(writer)
            return
        method, path = _request_line(head)
        try:
            response = await self._respond(method, path)
        except Exception:
            log.exception("endpoint: %s %s failed", method, path)
            response = Response(500, b"internal error\n")
        await _send(writer, response, head_only=method == "HEAD")

    async def _respond(self, method: str | None, path: str | None) -> Response:
        if method is None or path is None:
            return Response(400, b"bad request\n")
        if path not in ("/healthz", "/metrics"):
            return Response(404, b"not found: only /healthz and /metrics\n")
        if method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", allow="GET, HEAD")
        if path == "/metrics":
            return Response(200, self._scrape(), CONTENT_TYPE)
        healthy, body = await self._health()
        payload = (json.dumps(body) + "\n").encode()
        return Response(200 if healthy else 503, payload, JSON_TYPE)


def _request_line(head: bytes) -> tuple[str | None, str | None]:
    """(method, path without query) of `GET /path?x HTTP/1.1`, or (None, None) if malformed."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None, None
    return parts[0], parts[1].split("?", 1)[0]


async def _send(writer: asyncio.StreamWriter, response: Response, *, head_only: bool) -> None:
    reason = HTTPStatus(response.status).phrase
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Cache-Control: no-store",
        "Connection: close",
    ]
    if response.allow:
        lines.append(f"Allow: {response.allow}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    try:
        writer.write(head if head_only else head + response.body)
        await writer.drain()
    except OSError:
        pass
    await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
