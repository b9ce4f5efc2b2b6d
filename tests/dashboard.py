"""The dashboard served over loopback for a test: the real endpoint (`serving.endpoint`, as
`watcher run` and `watcher serve` start it) on an ephemeral port, in a thread of its own so
the test can speak plain HTTP to it (httpx, or a real Chromium), and a parser for what the
pages say."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

from watcher.clock import Clock, FakeClock
from watcher.config import Config, HttpSettings
from watcher.web.app_keys import HealthCheck, Scrape
from watcher.web.serving import endpoint


async def healthy() -> tuple[bool, dict[str, Any]]:
    return True, {"status": "ok"}


def no_metrics() -> bytes:
    return b""


@contextlib.contextmanager
def serving(
    config: Config,
    *,
    clock: Clock | None = None,
    health: HealthCheck = healthy,
    scrape: Scrape = no_metrics,
) -> Iterator[str]:
    """`config`'s dashboard (its token included) on 127.0.0.1, port chosen by the system,
    while the block runs; yields its base URL."""
    http = HttpSettings(listen="127.0.0.1:0", token=config.http.token)
    served = config.model_copy(update={"http": http})
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = endpoint(
            lambda: served,
            served.database_path,
            clock or FakeClock(),
            health=health,
            scrape=scrape,
        )
        try:
            box["url"] = loop.run_until_complete(server.start())
        except BaseException as exc:
            box["error"] = exc
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.close()

    thread = threading.Thread(target=run, name="dashboard", daemon=True)
    thread.start()
    assert started.wait(10), "the dashboard did not start within 10 s"
    if "error" in box:
        raise box["error"]
    try:
        yield str(box["url"])
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


class Page(HTMLParser):
    """A page's elements, text and attributes, as a browser's parser finds them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[tuple[str, tuple[str, ...]]] = []  # (text, open elements around it)
        self._open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.texts.append((data, tuple(self._open)))

    @property
    def text(self) -> str:
        """The page's text as it reads: whitespace collapsed, as a browser shows it."""
        return " ".join("".join(text for text, _ in self.texts).split())

    def attributes(self, name: str) -> list[str]:
        return [str(attrs[name]) for _, attrs in self.tags if attrs.get(name) is not None]

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for found, attrs in self.tags if found == tag]

    def rows(self, table_class: str) -> list[list[str]]:
        """The text of each cell of each body row of the table with this class."""
        parser = _Rows(table_class)
        parser.feed(self.html)
        return parser.rows


VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


class _Rows(HTMLParser):
    def __init__(self, table_class: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._wanted = table_class
        self._depth = 0  # inside the wanted table's body
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table" and self._wanted in classes:
            self._depth = 1
        elif self._depth and tag == "tbody":
            self._depth = 2
        elif self._depth == 2 and tag == "tr":
            self.rows.append([])
        elif self._depth == 2 and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth = 0
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
