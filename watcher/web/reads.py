"""How the web routes read the database: on one read-only connection kept for the app, in a
worker thread of its own, each request inside one snapshot.

Why this shape: opening a connection and the store's parts costs about 0.5 ms a request
(bench scenario 11), against nothing for a kept one; a query in the event loop's own thread
would hold up the daemon's polls and deliveries while it runs, so the queries run in one
worker thread (SQLite connections belong to a thread), one request at a time. The
connection cannot write (`Store.open_read_only`): a route that tried would fail, not change
anything.

A route's reads are a `RouteRead`: from the request's parameters (path and query, by name)
to what its handler renders. Keeping them apart from the handlers lets the bench time the SQL
of a route alone; each route module lists its own in `ROUTE_READS`, by route pattern.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from aiohttp import web

from watcher.clock import Clock, SystemClock

if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.store import Store

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reading:
    """What a route reads with: the config as it stands now (a reload may change it), the
    database inside one snapshot, and the moment of the read."""

    config: Config
    store: Store
    now: datetime


RouteRead = Callable[[Reading, Mapping[str, str]], object]


@dataclass(frozen=True, slots=True)
class Redirect:
    """What a page's read returns to send the browser elsewhere (its canonical address)."""

    location: str


class BadParameter(ValueError):
    """A request parameter a route cannot use: one line, the request's fault (400)."""


def request_params(request: web.Request) -> dict[str, str]:
    """The request's query parameters (the first of a repeated one) and its path's
    parameters, by name; the path's win."""
    params = {key: request.query.getone(key) for key in request.query}
    params.update(request.match_info)
    return params


def limit_param(params: Mapping[str, str], default: int, maximum: int) -> int:
    """`limit`: a whole number from 1 to `maximum`; `default` when absent or empty."""
    text = params.get("limit", "").strip()
    if not text:
        return default
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(maximum))
    if not digits or not 1 <= int(text) <= maximum:
        raise BadParameter(f"limit must be a whole number from 1 to {maximum} (got {text!r})")
    return int(text)


class StoreReader:
    """Runs route reads on one read-only connection in one worker thread.

    `config` is asked at every read, so a daemon's reload shows at the next request."""

    def __init__(
        self, database: Path, config: Callable[[], Config], clock: Clock | None = None
    ) -> None:
        self._database = database
        self._config = config
        self._clock: Clock = clock or SystemClock()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watcher-web-reads")
        self._store: Store | None = None

    async def start(self) -> None:
        """Open the connection now, so a missing or unreadable database is one error at
        start (a DatabaseProblem), not a failure of every request."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self._opened)

    async def read(self, read: Callable[[Reading], T]) -> T:
        """`read` run in the worker thread inside one snapshot of the database."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, read)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _opened(self) -> Store:
        if self._store is None:
            from watcher.store import Store

            self._store = Store.open_read_only(self._database)
        return self._store

    def _run(self, read: Callable[[Reading], T]) -> T:
        store = self._opened()
        with store.snapshot():
            return read(Reading(self._config(), store, self._clock.now()))

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


READER = web.AppKey("watcher_reader", StoreReader)


def install(app: web.Application, reader: StoreReader) -> StoreReader:
    """Keep `reader` on `app` (`app[READER]`), opened as the app starts and closed as it
    stops."""
    app[READER] = reader

    async def start(_: web.Application) -> None:
        await reader.start()

    async def stop(_: web.Application) -> None:
        await reader.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return reader
