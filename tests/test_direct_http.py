"""Requests go straight to a transport (aiohttp's, by default), except through a proxy the
environment names."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
import pytest
from standardwebhooks import Webhook

from tests.receiver import Receiver
from tests.world import AudiusWorld
from watcher.errors import PlatformError
from watcher.http.aiohttp_transport import AiohttpTransport
from watcher.http.client import (
    BodyTooLarge,
    DeadlineExceeded,
    DirectClient,
    environment_proxies,
    open_client,
)
from watcher.http.identity import USER_AGENT
from watcher.http.json_client import JsonClient
from watcher.http.retry import RetryPolicy
from watcher.http.statuses import PLATFORM_RETRYABLE, TOKEN_RETRYABLE, delivery_is_permanent
from watcher.sinks.base import SendResult
from watcher.sinks.webhook import send_webhook

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps({"id": "evt_1", "type": "following.added", "data": {}})
PROXY_VARIABLES = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"]


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment that names no proxy."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def post(http: DirectClient, url: str) -> SendResult:
    return asyncio.run(
        send_webhook(
            http,
            url=url,
            secret=SECRET,
            event_id="evt_1",
            body=BODY,
            timestamp=datetime.now(UTC),
            timeout=5,
        )
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_environment_names_proxies_by_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    assert environment_proxies() == {"https": "http://proxy.invalid:3128"}


def test_webhooks_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Receiver() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url(""))
        http = open_client(timeout=5, headers={})
        result = post(http, "http://hooks.example.invalid/hook")
        asyncio.run(http.aclose())

    assert result.ok
    (request,) = proxy.requests
    assert request.path == "http://hooks.example.invalid/hook"  # absolute form: a proxy request
    Webhook(SECRET).verify(request.text, request.headers)


def test_a_host_in_no_proxy_is_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with Receiver() as rx:
        http = open_client(timeout=5, headers={})
        result = post(http, rx.url("/hook"))
        asyncio.run(http.aclose())

    assert result.ok and [r.path for r in rx.requests] == ["/hook"]


def test_polls_go_through_the_proxy_the_environment_names(
    audius: AudiusWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator plays the proxy: it is asked for absolute URLs on a host that does not
    resolve, which only a proxied request can reach."""
    artists = audius.sim.add_users(3, prefix="artist", base_followers=lambda i: i + 1)
    curator = audius.sim.add_user(handle="curator", name="Curator", base_followers=5)
    audius.sim.follow_many(curator, artists)
    port = audius.base_url.split(":")[2].split("/")[0]
    path = audius.base_url.split(str(port), 1)[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    audius.base_url = f"http://audius.example.invalid{path}"
    audius.watches.append({"platform": "audius", "account": "curator"})

    report = audius.poll()

    assert report.ok and report.size == 3
    assert audius.sim.request_count >= 2


def test_cookies_a_receiver_sets_are_not_sent_back() -> None:
    with Receiver(keep_alive=True) as rx:
        rx.reply(204, {"Set-Cookie": "session=abc; Path=/"})
        rx.reply(204)

        async def go() -> list[SendResult]:
            async with open_client(timeout=5, headers={}) as http:
                return [
                    await send_webhook(
                        http,
                        url=rx.url("/hook"),
                        secret=SECRET,
                        event_id=f"evt_{n}",
                        body=BODY,
                        timestamp=datetime.now(UTC),
                        timeout=5,
                    )
                    for n in range(2)
                ]

        results = asyncio.run(go())

    assert all(r.ok for r in results)
    assert [r.headers.get("cookie") for r in rx.requests] == [None, None]


def test_platform_requests_carry_our_user_agent_and_accept_gzip() -> None:
    with Receiver() as rx:
        rx.reply(200, {"Content-Type": "application/json"}, body=b'{"data": []}')

        async def go() -> httpx.Response:
            async with open_client(timeout=5, headers={"User-Agent": "watcher/test"}) as http:
                return await http.request("GET", rx.url("/users"), params={"offset": 100})

        response = asyncio.run(go())

    assert response.status_code == 200 and response.json() == {"data": []}
    (request,) = rx.requests
    assert request.path == "/users?offset=100"
    assert request.headers["user-agent"] == "watcher/test"
    assert "gzip" in request.headers["accept-encoding"]


def test_a_slow_answer_times_out_with_an_httpx_error_class() -> None:
    with Receiver() as rx:
        release = rx.hold()

        async def go() -> None:
            async with open_client(timeout=0.2, headers={}) as http:
                await http.request("GET", rx.url("/slow"))

        with pytest.raises(httpx.TimeoutException) as raised:
            asyncio.run(go())
        release.set()
    assert isinstance(raised.value, DeadlineExceeded) and raised.value.seconds == 0.2


def fetch(url: str, max_body: int) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = AiohttpTransport()
        async with DirectClient(transport, timeout=5, headers={}, max_body=max_body) as http:
            return await http.request("GET", url)

    return asyncio.run(go())


def test_an_answer_declaring_more_than_the_cap_is_refused_unread() -> None:
    with Receiver() as rx:
        rx.reply(200, body=b"x" * 2_000)
        with pytest.raises(BodyTooLarge, match="2,000 bytes"):
            fetch(rx.url("/users"), max_body=1_000)


def test_a_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"0" * 5_000_000)  # ~5 KB on the wire
    with Receiver() as rx:
        rx.reply(200, {"Content-Encoding": "gzip"}, body=bomb)
        with pytest.raises(BodyTooLarge, match="over 1,000,000 bytes"):
            fetch(rx.url("/users"), max_body=1_000_000)


def test_a_gzipped_answer_arrives_decoded() -> None:
    with Receiver() as rx:
        rx.reply(200, {"Content-Encoding": "gzip"}, body=gzip.compress(b'{"data": [1, 2]}'))
        response = fetch(rx.url("/users"), max_body=1_000_000)

    assert response.json() == {"data": [1, 2]}
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(b'{"data": [1, 2]}'))


def test_a_platform_answer_over_the_cap_fails_the_request_once_with_a_clear_error() -> None:
    with Receiver() as rx:
        rx.reply(200, body=b"x" * 2_000)

        async def go() -> None:
            transport = AiohttpTransport()
            async with DirectClient(transport, timeout=5, headers={}, max_body=1_000) as http:
                await JsonClient(http, retry=RetryPolicy()).get_json(
                    rx.url("/v1/users/1/following")
                )

        with pytest.raises(PlatformError) as failure:
            asyncio.run(go())

    assert str(failure.value) == "response body of 2,000 bytes: GET " + rx.url(
        "/v1/users/1/following"
    )
    assert len(rx.requests) == 1  # not retried: it will not shrink


def requested(url: str, params: dict[str, str | int] | None, transport: str) -> str:
    """The path and query a receiver saw for a GET through the default client (aiohttp) or
    through httpx's own transport."""
    with Receiver() as rx:
        rx.reply(200, body=b"{}")

        async def go() -> None:
            if transport == "httpx":
                http = DirectClient(httpx.AsyncHTTPTransport(), timeout=5, headers={})
            else:
                http = open_client(timeout=5, headers={})
            async with http:
                await http.request("GET", rx.url(url), params=params)

        asyncio.run(go())
    (request,) = rx.requests
    return request.path


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/v1/users/eJ57D/following", {"offset": 100, "limit": 100}),
        ("/v1/users/eJ57D", {}),
        ("/users?sort=asc", {"offset": 100}),  # params replace the query, as httpx does
        ("/users/urn%3Asoundcloud%3Ausers%3A1/followings?cursor=x%2Cy%3D&limit=200", None),
        ("/users/handle/dj käse", None),
        ("/users/handle/100%zz", {"app_name": "a b&c"}),
    ],
)
def test_the_wire_sees_what_httpx_would_send(url: str, params: dict[str, str | int]) -> None:
    ours, theirs = requested(url, params, "default"), requested(url, params, "httpx")
    path, _, query = ours.partition("?")
    their_path, _, their_query = theirs.partition("?")
    assert path == their_path
    assert parse_qsl(query, keep_blank_values=True) == parse_qsl(
        their_query, keep_blank_values=True
    )
    assert ("%" in url) <= (ours == theirs)  # escapes already made are sent untouched


def test_a_url_with_another_scheme_is_refused_before_sending() -> None:
    async def go() -> None:
        async with open_client(timeout=5, headers={}) as http:
            await http.request("GET", "ftp://example.invalid/users")

    with pytest.raises(httpx.UnsupportedProtocol):
        asyncio.run(go())


def test_an_injected_transport_gets_the_request_production_sends() -> None:
    """The transport is the only seam: a platform GET through a test's transport carries the
    one User-Agent and the params, built by the same client code as through aiohttp."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    async def go() -> tuple[int, object]:
        async with open_client(timeout=5, transport=httpx.MockTransport(answer)) as http:
            client = JsonClient(http, retry=RetryPolicy.immediate(1))
            return await client.get_json("http://audius.invalid/v1/users/x", params={"limit": 5})

    assert asyncio.run(go()) == (200, {"data": []})
    (request,) = seen
    assert request.headers["user-agent"] == USER_AGENT
    assert request.url.params["limit"] == "5"


@pytest.mark.parametrize(
    ("status", "platform", "token", "delivery"),
    [(429, True, False, True), (503, True, True, True), (409, False, False, True),
     (404, False, False, False), (501, False, False, False), (507, False, False, True)],
)  # fmt: skip
def test_each_caller_retries_its_own_share_of_one_classification(
    status: int, platform: bool, token: bool, delivery: bool
) -> None:
    assert (status in PLATFORM_RETRYABLE) is platform
    assert (status in TOKEN_RETRYABLE) is token
    assert (not delivery_is_permanent(status)) is delivery
