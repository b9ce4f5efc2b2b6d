"""A peer on 127.0.0.1 that answers HTTP one byte at a time: the slow loris, served.

Per-read timeouts never fire against it (each byte resets them), so it is what proves a
deadline bounds a whole request. It runs its own event loop in a thread, so synchronous tests
and tests with their own loop can both use it. Requests are answered in order from a script:
`"headers"` trickles the whole answer from its status line on, `"body"` sends the headers at
once and trickles the body, `"answer"` answers at once; past the script, every request gets
the last entry. `requests` keeps what arrived (method, path, headers), and `arrivals` hands
each to a test waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

Mode = Literal["headers", "body", "answer"]


@dataclass(frozen=True)
class Arrived:
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased


class Trickler:
    """`with Trickler(["headers", "answer"], every=0.2) as peer: ... peer.url("/x")`."""

    def __init__(
        self,
        script: list[Mode],
        *,
        every: float = 0.2,
        status: int = 200,
        body: bytes = b'{"data": []}',
    ) -> None:
        self.script = list(script)
        self.every = every
        self.status = status
        self.body = body
        self.requests: list[Arrived] = []
        self.arrivals: queue.Queue[Arrived] = queue.Queue()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trickler", daemon=True)
        self._server: asyncio.Server | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Trickler:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                arrived = await _read_request(reader)
                if arrived is None:
                    break
                index = len(self.requests)
                self.requests.append(arrived)
                self.arrivals.put(arrived)
                mode = self.script[min(index, len(self.script) - 1)]
                head = (
                    f"HTTP/1.1 {self.status} Whatever\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(self.body)}\r\n\r\n"
                ).encode()
                if mode == "answer":
                    writer.write(head + self.body)
                    await writer.drain()
                    continue
                if mode == "body":
                    writer.write(head)
                    slow = self.body
                else:
                    slow = head + self.body
                for offset in range(len(slow)):  # one byte, a pause, the next...
                    writer.write(slow[offset : offset + 1])
                    await writer.drain()
                    await asyncio.sleep(self.every)
                    if reader.at_eof():
                        break
        writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Arrived | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if length:
        await reader.readexactly(length)
    return Arrived(method, path, headers)
