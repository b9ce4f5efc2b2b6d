"""The seam every request leaves through: a `Transport` takes an `Outgoing` request and
answers an `httpx.Response` whose body is still unread.

Production's transport is aiohttp's (`aiohttp_transport.AiohttpTransport`); whatever shortcut
it takes for a request lives inside it, so a test that passes another transport (any httpx
transport, through `HttpxTransport`) runs the same client code production runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, TypedDict

import httpx

Params = Mapping[str, str | int | list[str]]


class Parts(TypedDict, total=False):
    """What a request may carry besides its method and URL (as httpx names them)."""

    params: Params | None
    headers: Mapping[str, str] | None
    data: Mapping[str, str] | None
    content: bytes | None
    timeout: float | None  # seconds, instead of the client's


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One request as the client built it: its headers merged (lower-case names), its
    per-phase timeouts as httpx names them. At most one of `data` (a form) and `content`."""

    method: str
    url: str
    headers: Mapping[str, str]
    timeouts: Mapping[str, float | None]
    params: Params | None = None
    data: Mapping[str, str] | None = None
    content: bytes | None = None

    def build(self) -> httpx.Request:
        """The `httpx.Request` httpx's client would send, refused as it would refuse it."""
        request = httpx.Request(
            self.method,
            self.url,
            params=self.params,
            headers=self.headers,
            data=self.data,
            content=self.content,
            extensions={"timeout": dict(self.timeouts)},
        )
        check_target(request.url.scheme, request.url.host)
        return request


class Transport(Protocol):
    """Sends one request; the answer's body is left to the caller (who closes it)."""

    async def send(self, request: Outgoing) -> httpx.Response: ...

    async def aclose(self) -> None: ...


class HttpxTransport:
    """Any httpx transport as a `Transport` (httpx's own, `MockTransport`, a test's)."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def send(self, request: Outgoing) -> httpx.Response:
        built = request.build()
        response = await self._transport.handle_async_request(built)
        response.request = built
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


class ProxiedTransport:
    """Requests sent through an `httpx.AsyncClient` for its proxy routing alone (it adds no
    headers or cookies to a request already built; redirects are not followed)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, request: Outgoing) -> httpx.Response:
        return await self._client.send(request.build(), stream=True)

    async def aclose(self) -> None:
        await self._client.aclose()


def check_target(scheme: str, host: str | None) -> None:
    """What httpx's client refuses before sending, refused the same way."""
    if scheme not in ("http", "https") and scheme:
        raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")
    if not scheme or not host:
        raise httpx.UnsupportedProtocol(
            "Request URL is missing an 'http://' or 'https://' protocol."
        )
