"""The simulators' wire (watcher.sim.serving), spoken to through raw sockets."""

from __future__ import annotations

import concurrent.futures
import json
import select
import socket
import time
from collections.abc import Iterable, Iterator

import httpx
import pytest

from watcher.sim.http import SimRequest, SimResponse, SimServer, json_response


class Echo(SimServer):
    """Answers every request with what it saw."""

    def route(self, request: SimRequest) -> SimResponse:
        return json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "body": request.body.decode(),
                "agent": request.headers.get("user-agent"),
            }
        )


@pytest.fixture
def echo() -> Iterator[Echo]:
    server = Echo()
    with server.serve():
        yield server


def connect(server: SimServer) -> socket.socket:
    port = int(server.base_url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_answer(sock: socket.socket, buffered: bytearray) -> tuple[str, dict[str, str], bytes]:
    """One answer off the socket: (status line, lower-cased headers, body)."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a whole head: {bytes(buffered)!r}"
        buffered += chunk
    end = buffered.index(b"\r\n\r\n")
    status, *lines = buffered[:end].decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
    length = int(headers["content-length"])
    del buffered[: end + 4]
    while len(buffered) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        buffered += chunk
    body = bytes(buffered[:length])
    del buffered[:length]
    return status, headers, body


def closed_by_server(sock: socket.socket) -> bool:
    return sock.recv(1) == b""


def test_pipelined_requests_on_one_connection_are_answered_in_order(echo: Echo) -> None:
    with connect(echo) as sock:
        sock.sendall(
            b"GET /a?x=1 HTTP/1.1\r\nHost: sim\r\n\r\nGET /b HTTP/1.1\r\nHost: sim\r\n\r\n"
        )
        buffered = bytearray()
        first = read_answer(sock, buffered)
        second = read_answer(sock, buffered)
    assert first[0] == "HTTP/1.1 200 OK"
    assert json.loads(first[2])["path"] == "/a" and json.loads(first[2])["query"] == {"x": "1"}
    assert json.loads(second[2])["path"] == "/b"
    assert "connection" not in first[1]
    assert first[1]["content-type"] == "application/json" and "date" in first[1]


def test_a_body_split_across_writes_reaches_the_route_whole(echo: Echo) -> None:
    with connect(echo) as sock:
        sock.sendall(b"POST /token HTTP/1.1\r\nHost: sim\r\nContent-Length: 11\r\n\r\nhello")
        readable, _, _ = select.select([sock], [], [], 0.2)
        assert readable == []  # no answer before the whole body is in
        sock.sendall(b" world")
        status, _, body = read_answer(sock, bytearray())
    assert status == "HTTP/1.1 200 OK"
    assert json.loads(body)["method"] == "POST" and json.loads(body)["body"] == "hello world"


def test_connection_close_and_http_1_0_close_after_the_answer(echo: Echo) -> None:
    for request in (
        b"GET /c HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n",
        b"GET /c HTTP/1.0\r\n\r\n",
    ):
        with connect(echo) as sock:
            sock.sendall(request)
            _, headers, body = read_answer(sock, bytearray())
            assert headers["connection"] == "close"
            assert json.loads(body)["path"] == "/c"
            assert closed_by_server(sock)


def test_http_1_0_keep_alive_keeps_the_connection(echo: Echo) -> None:
    with connect(echo) as sock:
        buffered = bytearray()
        for path in (b"/d", b"/e"):
            sock.sendall(b"GET " + path + b" HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            _, headers, body = read_answer(sock, buffered)
            assert "connection" not in headers
            assert json.loads(body)["path"] == path.decode()


def test_head_answers_the_length_without_a_body(echo: Echo) -> None:
    with connect(echo) as sock:
        sock.sendall(b"HEAD /h HTTP/1.1\r\nHost: sim\r\n\r\nGET /after HTTP/1.1\r\n\r\n")
        buffered = bytearray()
        while b"\r\n\r\n" not in buffered:
            buffered += sock.recv(65536)
        end = buffered.index(b"\r\n\r\n")
        head = buffered[:end].decode()
        del buffered[: end + 4]
        assert "Content-Length: " in head and not head.endswith("Content-Length: 0")
        # the next answer starts right after the head: no body was sent for HEAD
        _, _, body = read_answer(sock, buffered)
    assert json.loads(body)["path"] == "/after"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", "400"),
        (b"GET /x HTTP/2\r\n\r\n", "400"),
        (b"GET /x HTTP/1.1\r\nno colon here\r\n\r\n", "400"),
        (b"GET /x HTTP/1.1\r\nContent-Length: ten\r\n\r\n", "400"),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "501"),
        (b"GET /x HTTP/1.1\r\nX-Big: " + b"a" * 70_000, "431"),
    ],
    ids=["request-line", "version", "header", "length", "chunked", "huge-head"],
)
def test_what_no_client_sends_is_refused_with_a_status_and_a_close(
    echo: Echo, request_bytes: bytes, status: str
) -> None:
    with connect(echo) as sock:
        sock.sendall(request_bytes)
        line, headers, body = read_answer(sock, bytearray())
        assert line.split(" ")[1] == status
        assert headers["connection"] == "close" and json.loads(body)["code"] == int(status)
        assert closed_by_server(sock)
    assert echo.request_count == 0  # nothing was routed


def test_stop_drops_a_request_waiting_out_its_latency(echo: Echo) -> None:
    echo.latency = 60.0
    with connect(echo) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\n\r\n")
        while echo.request_count == 0:  # the request is in, waiting out its latency
            time.sleep(0.01)
        echo.stop()
        assert closed_by_server(sock)  # at once: the socket's 10 s timeout would raise
    assert not echo.running


def test_requests_on_many_connections_wait_out_their_latency_together(echo: Echo) -> None:
    echo.latency = 0.5
    clients = [httpx.Client(base_url=echo.base_url, timeout=10) for _ in range(40)]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(lambda c: c.get(f"/n/{id(c)}"), clients))
    elapsed = time.monotonic() - started
    for client in clients:
        client.close()
    assert [a.status_code for a in answers] == [200] * 40
    assert elapsed < 40 * 0.5 / 4  # one after another would take 20 s


def test_a_client_that_hangs_up_mid_latency_leaves_the_server_serving(echo: Echo) -> None:
    echo.latency = 0.3
    with connect(echo) as sock:
        sock.sendall(b"GET /gone HTTP/1.1\r\n\r\n")
    echo.latency = 0.0
    answer = httpx.get(f"{echo.base_url}/still", timeout=10)
    assert answer.status_code == 200 and answer.json()["path"] == "/still"
    assert echo.errors == []


class Broken(SimServer):
    async def process(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> SimResponse:
        raise RuntimeError("the pipeline itself failed, before any route could catch it")


def test_a_pipeline_that_fails_answers_500_and_closes() -> None:
    with Broken().serve() as base_url:
        answer = httpx.get(f"{base_url}/x", timeout=10)
    assert answer.status_code == 500
    assert answer.json()["error"] == "simulator failed: RuntimeError"
    assert answer.headers["connection"] == "close"
