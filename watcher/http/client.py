"""The HTTP client for platforms and webhooks: requests go straight to a transport.

`httpx.AsyncClient` wraps each request in a layer watcher has no use for: a cookie jar (read
and written on every request), an auth flow, a redirect loop, URL and header merging, request
logging. Measured on the 2-core VM against a loopback receiver, that layer is about 150 µs of
CPU of a 600 µs webhook POST. `DirectClient` sends the `httpx.Request` to a transport without
it. The default transport is `AiohttpTransport` (compiled HTTP parsing, about a third of the
CPU of httpx's own per request); response decoding (gzip included), error classes and
timeouts stay httpx's, and any httpx transport can be passed instead: the transport is the
only seam (see transport.py), so either runs this same code.

The client layer does one thing watcher keeps: it routes requests through the proxies the
environment names (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`). When any is set,
`open_client` hands each built request to an `httpx.AsyncClient` for that routing alone, so
proxied setups work exactly as httpx documents them.

`DirectClient` also caps what a platform answer may make it read (`MAX_BODY`, decoded), and
gives each platform request one deadline for all of it: connecting, the headers and the whole
body. httpx's (and aiohttp's) timeouts are per phase and per read, so a peer trickling a byte
a second resets them forever; a deadline nothing can stretch is what keeps a poll bounded.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self, Unpack

import httpx

from watcher.http.identity import USER_AGENT, default_tls
from watcher.http.transport import (
    HttpxTransport,
    Outgoing,
    Parts,
    ProxiedTransport,
    Transport,
)

PROXY_SCHEMES = ("http", "https", "all")
# The longest answer a platform request reads. A page of 100 Audius users is about 110 KB and
# SoundCloud's 200 a few hundred: this only stops a broken or hostile answer from filling memory.
MAX_BODY = 16 * 1024 * 1024


def environment_proxies() -> dict[str, str]:
    """The proxies the environment names for HTTP(S), by scheme (`all` included)."""
    found = urllib.request.getproxies_environment()
    return {scheme: found[scheme] for scheme in PROXY_SCHEMES if found.get(scheme)}


def open_client(
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    transport: Transport | httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits | None = None,
) -> DirectClient:
    """A client that never follows redirects and says it is watcher (`USER_AGENT`, unless
    `headers` names another). Its requests go straight to a transport when no proxy is set
    (or when `transport` is given, as tests do), else through an `httpx.AsyncClient`, which
    picks the proxy for each URL. Every client verifies TLS with the one `default_tls()`."""
    from watcher.http.aiohttp_transport import AiohttpTransport

    limits = limits or httpx.Limits()
    tls = default_tls() if verify is True else verify
    if transport is None and environment_proxies():
        routing = httpx.AsyncClient(follow_redirects=False, limits=limits, verify=tls)
        transport = ProxiedTransport(routing)
    transport = transport or AiohttpTransport(verify=tls, limits=limits)
    identity = {"User-Agent": USER_AGENT, **(headers or {})}
    return DirectClient(transport, timeout=timeout, headers=identity)


class BodyTooLarge(httpx.RequestError):
    """An answer longer than the client reads (decoded: a gzip bomb counts at full size)."""


class DeadlineExceeded(httpx.TimeoutException):
    """No complete answer (connection, headers and body) within the request's deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within {seconds:g}s")
        self.seconds = seconds


def _deadline_of(timeout: httpx.Timeout) -> float | None:
    """The longest of the per-phase timeouts: one deadline for the whole request."""
    phases = [seconds for seconds in timeout.as_dict().values() if seconds is not None]
    return max(phases) if phases else None


class DirectClient:
    """Requests sent straight to one transport. Redirects are answers, never followed; no
    cookies are kept; the transport is closed with the client."""

    def __init__(
        self,
        transport: Transport | httpx.AsyncBaseTransport,
        *,
        timeout: float,
        headers: Mapping[str, str],
        max_body: int = MAX_BODY,
    ) -> None:
        if isinstance(transport, httpx.AsyncBaseTransport):
            transport = HttpxTransport(transport)
        self._transport: Transport = transport
        self._max_body = max_body
        self.timeout = httpx.Timeout(timeout)
        # What httpx's client sends by default, plus ours (User-Agent).
        self._headers = {
            "accept": "*/*",
            "accept-encoding": "gzip, deflate",
            "connection": "keep-alive",
            **{name.lower(): value for name, value in headers.items()},
        }

    @property
    def timeout(self) -> httpx.Timeout:
        return self._timeout

    @timeout.setter
    def timeout(self, timeout: httpx.Timeout) -> None:
        self._timeout = timeout
        self._timeouts = timeout.as_dict()
        self._deadline = _deadline_of(timeout)

    def outgoing(self, method: str, url: str, **parts: Unpack[Parts]) -> Outgoing:
        """A request with this client's headers and timeouts (a `timeout` overrides them)."""
        merged = self._headers
        if headers := parts.get("headers"):
            merged = {**merged, **{name.lower(): value for name, value in headers.items()}}
        timeout = parts.get("timeout")
        timeouts = self._timeouts if timeout is None else httpx.Timeout(timeout).as_dict()
        return Outgoing(
            method,
            url,
            merged,
            timeouts,
            parts.get("params"),
            parts.get("data"),
            parts.get("content"),
        )

    async def request(self, method: str, url: str, **parts: Unpack[Parts]) -> httpx.Response:
        """`send` of the request these arguments make."""
        return await self.send(self.outgoing(method, url, **parts))

    async def send(self, request: Outgoing) -> httpx.Response:
        """Send and read the whole body (so the connection is free again); a body longer
        than `max_body` (decoded) raises BodyTooLarge once that much has been read.

        Connecting, the headers and the body together get `timeout` seconds, however slowly
        the peer trickles: past that it raises DeadlineExceeded (an httpx.TimeoutException),
        as does any of httpx's per-phase timeouts, so every timeout names the same deadline.
        """
        deadline = self._deadline
        try:
            async with asyncio.timeout(deadline):
                return await self._read(await self._transport.send(request))
        except (TimeoutError, httpx.TimeoutException) as exc:
            if deadline is None or isinstance(exc, DeadlineExceeded):
                raise
            raise DeadlineExceeded(deadline) from exc

    async def _read(self, response: httpx.Response) -> httpx.Response:
        """`response` with its whole body read, within `max_body`, and its connection freed."""
        try:
            length = _declared_length(response.headers)
            if length is not None and length > self._max_body:
                raise BodyTooLarge(f"response body of {length:,} bytes")
            if length is not None:  # the usual answer: plain, and short enough
                await response.aread()
                return response
            body = await _read_capped(response, self._max_body)
        finally:
            await response.aclose()
        return _with_body(response, body)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        timeout: float,  # noqa: ASYNC109 -- the per-request httpx timeout, as httpx names it
        follow_redirects: bool = False,
    ) -> AsyncIterator[httpx.Response]:
        """The response with its body unread, closed when the block ends."""
        del follow_redirects  # never followed: a redirect is the answer
        request = self.outgoing(method, url, headers=headers, content=content, timeout=timeout)
        response = await self._transport.send(request)
        try:
            yield response
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _declared_length(headers: httpx.Headers) -> int | None:
    """The body's length when the headers state it and no encoding changes it, else None."""
    if "content-encoding" in headers:
        return None
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, read chunk by chunk; BodyTooLarge past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"response body over {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """`response` holding its decoded `body` (the framing headers now describe that body)."""
    framing = {"content-encoding", "content-length", "transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in framing]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        extensions=response.extensions,
    )
