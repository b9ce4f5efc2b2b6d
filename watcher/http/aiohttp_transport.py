"""The production transport: requests sent with aiohttp.

Why: on the 2-core VM the benchmark runs on, a 108 KB Audius page costs about 1,000-1,300 µs
of CPU through httpx's own transport (httpcore, h11 and anyio, all pure Python) and about
400 µs through aiohttp (its HTTP parser is compiled), measured against the simulator 32
requests at a time. A fleet of watches under a platform budget is bound by that CPU, so this
is what lets one process keep up with the budget.

The rest of watcher still speaks httpx: the answer is an `httpx.Response` whose body streams
from aiohttp undecoded, so httpx decodes it (gzip included) and `DirectClient` caps it.
aiohttp's failures become the httpx exceptions httpx's own transport raises for the same
fault, so callers catch one family.

The platforms' usual request (a GET whose URL is already as it goes on the wire) is sent
without building an `httpx.Request`: httpx parses and normalises its URL and headers again,
~100 µs, as much as aiohttp's whole send. That shortcut lives here, behind the `Transport`
seam, so a test passing another transport runs the same client code as production.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager

import aiohttp
import httpx
from yarl import URL

from watcher.http.identity import default_tls
from watcher.http.transport import Outgoing, check_target

# A URL made only of characters that go on the wire as they are (valid escapes included):
# httpx would send it unchanged, so it can skip httpx's URL parsing.
_PLAIN_URL = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")

# aiohttp's failures, most specific first, and the httpx exception that means the same.
_EQUIVALENT: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
)


@contextmanager
def _as_httpx_errors(request: httpx.Request | None) -> Iterator[None]:
    try:
        yield
    except (aiohttp.ClientError, TimeoutError) as exc:
        for found, equivalent in _EQUIVALENT:
            if isinstance(exc, found):
                raise equivalent(str(exc) or type(exc).__name__, request=request) from exc
        raise  # pragma: no cover -- the table ends with aiohttp.ClientError


class AiohttpTransport:
    """Requests through one aiohttp session: its own connection pool, no cookies kept,
    redirects never followed, bodies left encoded for httpx to decode."""

    def __init__(
        self, *, verify: ssl.SSLContext | bool = True, limits: httpx.Limits | None = None
    ) -> None:
        limits = limits or httpx.Limits()
        # httpx's verification (certifi's CA bundle), not aiohttp's own default (the system's).
        self._ssl: ssl.SSLContext | bool = default_tls() if verify is True else verify
        self._max_connections = limits.max_connections or 0  # 0: aiohttp's "no limit"
        self._keepalive = limits.keepalive_expiry
        # Built at the first request: an aiohttp session belongs to the running event loop.
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=self._ssl,
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive if self._keepalive is not None else 15.0,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,  # proxies are routed by httpx (see client.open_client)
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )
        return self._session

    async def send(self, request: Outgoing) -> httpx.Response:
        if request.data is None and request.content is None and _PLAIN_URL.fullmatch(request.url):
            # Params replace the URL's query, as in httpx.
            target = URL(request.url, encoded=True)
            if request.params is not None:
                target = target.with_query(request.params)
            check_target(target.scheme, target.host)
            answer = await self._start(
                request.method, target, request.headers, None, request.timeouts, None
            )
            return _response(answer, None)
        built = request.build()
        answer = await self._start(
            built.method,
            URL(str(built.url), encoded=True),
            built.headers.multi_items(),
            built.content or None,
            request.timeouts,
            built,
        )
        return _response(answer, built)

    async def _start(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str] | Sequence[tuple[str, str]],
        body: bytes | None,
        timeouts: Mapping[str, float | None],
        request: httpx.Request | None,
    ) -> aiohttp.ClientResponse:
        session = self._session or self._open()
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        with _as_httpx_errors(request):
            return await session.request(
                method, url, headers=headers, data=body, allow_redirects=False, timeout=timeout
            )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _response(answer: aiohttp.ClientResponse, request: httpx.Request | None) -> httpx.Response:
    extensions = {"http_version": b"HTTP/1.1"}
    if answer.reason:
        extensions["reason_phrase"] = answer.reason.encode("latin-1", "replace")
    return httpx.Response(
        answer.status,
        headers=list(answer.raw_headers),
        stream=_Body(answer, request),
        request=request,
        extensions=extensions,
    )


class _Body(httpx.AsyncByteStream):
    """An answer's body as aiohttp receives it; closing it frees (or drops) the connection."""

    def __init__(self, answer: aiohttp.ClientResponse, request: httpx.Request | None) -> None:
        self._answer = answer
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._answer.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._answer.release()
