"""The HTTP client for platforms and webhooks: requests go straight to a transport.

`httpx.AsyncClient` wraps each request in a layer watcher has no use for: a cookie jar (read
and written on every request), an auth flow, a redirect loop, URL and header merging, request
logging. Measured on the 2-core VM against a loopback receiver, that layer is about 150 µs of
CPU of a 600 µs webhook POST. `DirectClient` sends the `httpx.Request` to a transport without
it. The default transport is `AiohttpTransport` (compiled HTTP parsing, about a third of the
CPU of httpx's own per request); response decoding (gzip included), error classes and
timeouts stay httpx's, and any httpx transport can be passed instead.

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
import re
import ssl
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Protocol, Self

import httpx
from yarl import URL

from watcher.aiohttp_transport import AiohttpTransport

PROXY_SCHEMES = ("http", "https", "all")
# A URL made only of characters that go on the wire as they are (valid escapes included):
# httpx would send it unchanged, so it can skip httpx's URL parsing.
_PLAIN_URL = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
# The longest answer a platform request reads. A page of 100 Audius users is about 110 KB and
# SoundCloud's 200 a few hundred: this only stops a broken or hostile answer from filling memory.
MAX_BODY = 16 * 1024 * 1024


class Requester(Protocol):
    """What platform clients send requests through: a `DirectClient`, or `Connections`
    lending one-connection clients."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int | list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response: ...


def environment_proxies() -> dict[str, str]:
    """The proxies the environment names for HTTP(S), by scheme (`all` included)."""
    found = urllib.request.getproxies_environment()
    return {scheme: found[scheme] for scheme in PROXY_SCHEMES if found.get(scheme)}


def open_client(
    *,
    timeout: float,
    headers: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits | None = None,
) -> DirectClient:
    """A client that never follows redirects. Its requests go straight to a transport when
    no proxy is set (or when `transport` is given, as tests do), else through an
    `httpx.AsyncClient`, which picks the proxy for each URL."""
    limits = limits or httpx.Limits()
    if transport is None and environment_proxies():
        routing = httpx.AsyncClient(follow_redirects=False, limits=limits, verify=verify)
        transport = _Routed(routing)
    transport = transport or AiohttpTransport(verify=verify, limits=limits)
    return DirectClient(transport, timeout=timeout, headers=headers)


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


class _Routed(httpx.AsyncBaseTransport):
    """Requests sent through an `httpx.AsyncClient` for its proxy routing alone (it adds no
    headers or cookies to a request already built; redirects are not followed)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True)

    async def aclose(self) -> None:
        await self._client.aclose()


class DirectClient:
    """Requests sent straight to one transport. Redirects are answers, never followed; no
    cookies are kept; the transport is closed with the client."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        timeout: float,
        headers: Mapping[str, str],
        max_body: int = MAX_BODY,
    ) -> None:
        self._transport = transport
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

    def _merged_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        if not headers:
            return self._headers
        return {**self._headers, **{name.lower(): value for name, value in headers.items()}}

    def _build(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int | list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> httpx.Request:
        merged = self._merged_headers(headers)
        timeouts = self._timeouts if timeout is None else httpx.Timeout(timeout).as_dict()
        request = httpx.Request(
            method,
            url,
            params=params,
            headers=merged,
            data=data,
            content=content,
            extensions={"timeout": timeouts},
        )
        _check_target(request.url.scheme, request.url.host)
        return request

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """The transport's answer to `request`, its body unread (the caller closes it)."""
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int | list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send and read the whole body (so the connection is free again); a body longer
        than `max_body` (decoded) raises BodyTooLarge once that much has been read.

        Connecting, the headers and the body together get `timeout` seconds, however slowly
        the peer trickles: past that it raises DeadlineExceeded (an httpx.TimeoutException),
        as does any of httpx's per-phase timeouts, so every timeout names the same deadline.
        """
        deadline = self._deadline
        try:
            async with asyncio.timeout(deadline):
                return await self._request(method, url, params, headers, data)
        except (TimeoutError, httpx.TimeoutException) as exc:
            if deadline is None or isinstance(exc, DeadlineExceeded):
                raise
            raise DeadlineExceeded(deadline) from exc

    async def _request(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int | list[str]] | None,
        headers: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> httpx.Response:
        transport = self._transport
        if data is None and isinstance(transport, AiohttpTransport) and _PLAIN_URL.fullmatch(url):
            # The platforms' usual request, sent without building an httpx.Request: the URL
            # is already as it goes on the wire, and params replace its query as in httpx.
            target = URL(url, encoded=True)
            if params is not None:
                target = target.with_query(params)
            _check_target(target.scheme, target.host)
            merged = self._merged_headers(headers)
            response = await transport.open(method, target, merged, self._timeouts)
        else:
            response = await self._send(
                self._build(method, url, params=params, headers=headers, data=data)
            )
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
        request = self._build(method, url, headers=headers, content=content, timeout=timeout)
        response = await self._send(request)
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


def _check_target(scheme: str, host: str | None) -> None:
    """What httpx's client refuses before sending, refused the same way."""
    if scheme not in ("http", "https") and scheme:
        raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")
    if not scheme or not host:
        raise httpx.UnsupportedProtocol(
            "Request URL is missing an 'http://' or 'https://' protocol."
        )


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
