"""HTTP/1.1 on loopback from one asyncio loop in a daemon thread: the simulators' wire.

A simulator stands in for a platform that runs on someone else's machines, so what it costs
here should be small next to the client it serves. One event loop answers every connection:
no thread per connection contending for the GIL, and latency is a timer, not a sleeping
thread. The parser knows what the clients under test send (a request line, headers, a body
sized by Content-Length, keep-alive) and answers anything else with 400 and a close.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watcher.sim.http import SimResponse

MAX_HEAD = 64 * 1024  # request line and headers
MAX_BODY = 16 * 1024 * 1024
BACKLOG = 128  # benchmarks open many connections at once

Answer = Callable[[str, str, list[tuple[str, str]], bytes], Awaitable["SimResponse"]]


class BadRequest(Exception):
    """A request the simulator will not parse: answered with `status`, then the line closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class LoopServer:
    """Serves `answer(method, target, headers, body)` on 127.0.0.1, at `port` (0: an ephemeral
    one, as tests want; `watcher sim` asks for a fixed one a config can name)."""

    def __init__(self, answer: Answer, name: str, port: int = 0) -> None:
        self.answer = answer
        self.connections: set[Connection] = set()
        self._name = name
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = port

    def start(self) -> int:
        """Listen and serve from a new thread; returns the port."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._server = self._loop.run_until_complete(
                    self._loop.create_server(
                        lambda: Connection(self), "127.0.0.1", self.port, backlog=BACKLOG
                    )
                )
            except BaseException as exc:  # handed to start()'s caller
                failure.append(exc)
                ready.set()
                self._loop.close()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            try:
                self._loop.run_forever()
            finally:
                self._wind_down()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.port

    def stop(self) -> None:
        """Stop listening, drop every connection and cancel requests still being answered."""
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None

    def _wind_down(self) -> None:
        """In the loop's thread, once the loop has stopped."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.drop()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        with suppress(Exception):
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()


class Connection(asyncio.Protocol):
    """One client connection: requests answered one at a time, in the order they came."""

    def __init__(self, server: LoopServer) -> None:
        self._server = server
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport  # asyncio sets TCP_NODELAY on TCP sockets itself
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None
        if self._task is not None:
            self._task.cancel()  # a client that hung up mid-latency or mid-timeout fault

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._task is None:
            self._next()

    def drop(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _next(self) -> None:
        try:
            parsed = take_request(self._buffer)
        except BadRequest as exc:
            self._send_status(exc.status, str(exc))
            return
        if parsed is not None:
            self._task = asyncio.get_running_loop().create_task(self._serve(*parsed))

    async def _serve(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, keep: bool
    ) -> None:
        try:
            response = await self._server.answer(method, target, headers, body)
        except Exception as exc:  # a bug of the app's: answer it rather than leave a hang
            self._task = None
            self._send_status(500, f"simulator failed: {type(exc).__name__}")
            return
        transport = self._transport
        self._task = None
        if transport is None or transport.is_closing():
            return
        transport.write(
            response_head(response, keep_alive=keep) + (b"" if method == "HEAD" else response.body)
        )
        if not keep:
            transport.close()
        elif self._buffer:
            self._next()

    def _send_status(self, status: int, message: str) -> None:
        """A JSON error in the simulators' usual shape, then the connection closes."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        body = json.dumps({"code": status, "error": message}, separators=(",", ":")).encode()
        transport.write(_head(status, "application/json", {}, len(body), keep_alive=False) + body)
        transport.close()


def take_request(
    buffer: bytearray,
) -> tuple[str, str, list[tuple[str, str]], bytes, bool] | None:
    """The first whole request in `buffer` (removed from it), or None until one has arrived.

    Returns (method, target, headers, body, keep_alive). Raises BadRequest for what no
    client under test sends: a garbled head, a chunked body, a head or body over the caps.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise BadRequest(431, "request head too large")
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not parts[1]:
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    headers: list[tuple[str, str]] = []
    length = 0
    keep = version == "HTTP/1.1"
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(400, "malformed header line")
        value = value.strip()
        lowered = name.lower()
        if lowered == "content-length":
            if not value.isdigit() or int(value) > MAX_BODY:
                raise BadRequest(400, "bad content-length")
            length = int(value)
        elif lowered == "transfer-encoding":
            raise BadRequest(501, "transfer-encoding is not supported")
        elif lowered == "connection":
            tokens = {token.strip().lower() for token in value.split(",")}
            keep = "close" not in tokens and (keep or "keep-alive" in tokens)
        headers.append((name, value))
    start = end + 4
    if len(buffer) < start + length:
        return None
    body = bytes(buffer[start : start + length])
    del buffer[: start + length]
    return method, target, headers, body, keep


_date_cache: tuple[int, str] = (0, "")


def _date(now: float) -> str:
    global _date_cache
    second = int(now)
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second, usegmt=True))
    return _date_cache[1]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def response_head(response: SimResponse, *, keep_alive: bool) -> bytes:
    return _head(
        response.status,
        response.content_type,
        response.headers,
        len(response.body),
        keep_alive=keep_alive,
    )


def _head(
    status: int,
    content_type: str | None,
    headers: Mapping[str, str],
    length: int,
    *,
    keep_alive: bool,
) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}", f"Date: {_date(time.time())}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {length}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
