"""The aiohttp transport behaves as httpx's own does: same requests on the wire, same answers,
the same httpx exception for each fault, connections kept and reused."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from watcher.http.aiohttp_transport import AiohttpTransport
from watcher.http.client import DirectClient

# Reads one request's head and answers with the bytes it returns (None: close, no answer).
Answer = Callable[[bytes], Awaitable[bytes | None]]


class RawServer:
    """A loopback TCP server that answers each request with whatever bytes a test scripts."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.heads: list[bytes] = []
        self.hang_up_after_answer = False

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.heads.append(head)
                reply = await self.answer(head)
                if reply is None:
                    return
                writer.write(reply)
                await writer.drain()
                if self.hang_up_after_answer:
                    return
        finally:
            writer.close()


@asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[tuple[RawServer, str]]:
    raw = RawServer(answer)
    server = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield raw, f"http://127.0.0.1:{port}"
    finally:
        server.close()


def ok(body: bytes) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def fixed(reply: bytes | None) -> Answer:
    async def answer(head: bytes) -> bytes | None:
        return reply

    return answer


async def get(url: str, *, seconds: float = 5.0, headers: dict[str, str] | None = None) -> bytes:
    async with DirectClient(AiohttpTransport(), timeout=seconds, headers=headers or {}) as http:
        response = await http.request("GET", url)
        return response.content


def test_requests_in_a_row_share_one_connection() -> None:
    async def go() -> tuple[int, list[bytes]]:
        async with (
            serving(fixed(ok(b'{"data": []}'))) as (raw, base),
            DirectClient(AiohttpTransport(), timeout=5, headers={}) as http,
        ):
            bodies = [(await http.request("GET", f"{base}/users/{n}")).content for n in range(5)]
            return raw.connections, bodies

    connections, bodies = asyncio.run(go())
    assert connections == 1
    assert bodies == [b'{"data": []}'] * 5


def test_the_request_carries_exactly_our_headers() -> None:
    async def go() -> bytes:
        async with serving(fixed(ok(b"{}"))) as (raw, base):
            await get(f"{base}/users?offset=100", headers={"User-Agent": "watcher/test"})
            return raw.heads[0]

    head = asyncio.run(go()).decode().lower()
    assert head.startswith("get /users?offset=100 http/1.1\r\n")
    assert "user-agent: watcher/test\r\n" in head
    assert "aiohttp" not in head
    assert "accept-encoding: gzip, deflate\r\n" in head


def test_a_chunked_gzipped_answer_arrives_decoded() -> None:
    packed = gzip.compress(b'{"data": [1, 2]}')
    chunked = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (packed[:7], packed[7:])
    )
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + chunked
        + b"0\r\n\r\n"
    )

    async def go() -> bytes:
        async with serving(fixed(reply)) as (_, base):
            return await get(f"{base}/users")

    assert asyncio.run(go()) == b'{"data": [1, 2]}'


def test_a_redirect_is_the_answer() -> None:
    reply = b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"

    async def go() -> tuple[int, str, int]:
        async with (
            serving(fixed(reply)) as (raw, base),
            DirectClient(AiohttpTransport(), timeout=5, headers={}) as http,
        ):
            response = await http.request("GET", f"{base}/users/1")
            return response.status_code, response.headers["location"], len(raw.heads)

    assert asyncio.run(go()) == (302, "/elsewhere", 1)


def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        asyncio.run(get(f"http://127.0.0.1:{port}/users"))


def test_a_server_that_hangs_up_without_answering_is_a_protocol_error() -> None:
    async def go() -> bytes:
        async with serving(fixed(None)) as (_, base):
            return await get(f"{base}/users")

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(go())


def test_a_body_cut_short_is_a_protocol_error() -> None:
    async def go() -> bytes:
        async with serving(fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxxxx")) as (
            raw,
            base,
        ):
            raw.hang_up_after_answer = True
            return await get(f"{base}/users")

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(go())


def test_a_garbled_status_line_is_a_protocol_error() -> None:
    async def go() -> bytes:
        async with serving(fixed(b"HTTP/1.1 abc nonsense\r\n\r\n")) as (_, base):
            return await get(f"{base}/users")

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(go())


def test_an_answer_that_never_comes_is_a_timeout() -> None:
    never = asyncio.Event()

    async def hold(head: bytes) -> bytes | None:
        await never.wait()
        return None

    async def go() -> bytes:
        async with serving(hold) as (_, base):
            return await get(f"{base}/users", seconds=0.2)

    with pytest.raises(httpx.TimeoutException):
        asyncio.run(go())


def test_a_body_that_stalls_midway_is_a_timeout() -> None:
    never = asyncio.Event()

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxxxx")
        await writer.drain()
        await never.wait()

    async def go() -> bytes:
        server = await asyncio.start_server(stall, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await get(f"http://127.0.0.1:{port}/users", seconds=0.2)
        finally:
            server.close()

    with pytest.raises(httpx.TimeoutException):
        asyncio.run(go())


def test_a_plain_answer_arrives_read_with_its_headers_and_the_connection_free() -> None:
    reply = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Page: 2\r\n\r\nhello"

    async def go() -> tuple[list[httpx.Response], int]:
        async with (
            serving(fixed(reply)) as (raw, base),
            DirectClient(AiohttpTransport(), timeout=5, headers={}) as http,
        ):
            answers = [await http.request("GET", f"{base}/p") for _ in range(3)]
            return answers, raw.connections

    answers, connections = asyncio.run(go())
    assert [(a.status_code, a.content, a.headers["x-page"]) for a in answers] == [
        (201, b"hello", "2")
    ] * 3
    assert answers[0].reason_phrase == "Created" and answers[0].is_closed
    assert connections == 1


def test_closing_an_unused_transport_is_harmless() -> None:
    asyncio.run(AiohttpTransport().aclose())
