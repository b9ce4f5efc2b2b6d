"""The dashboard's reads: a few query-only connections, used from worker threads.

Pages never run SQL on the event loop: under `watcher run` that loop polls and delivers, and
a page of a big list must not hold it up. Each worker thread keeps one connection of its own
(`Store.open_reader`: `PRAGMA query_only`, so a page that tried to write would fail), and each
piece of work reads inside one transaction: a page shows one moment of the database, however
many queries it makes, while polls go on writing (WAL readers and the writer never wait for
each other).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from watcher.store import Store

T = TypeVar("T")

# Two cores is what this runs on; more threads would only queue on SQLite and the GIL.
THREADS = 2


class StoreReader:
    """Runs `work(store)` in a worker thread on that thread's query-only connection."""

    def __init__(self, path: Path, *, threads: int = THREADS) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="watcher-web")
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    async def read(self, work: Callable[[Store], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, work)

    def _run(self, work: Callable[[Store], T]) -> T:
        store = self._store()
        conn = store.db.conn
        conn.execute("BEGIN")  # one snapshot for the whole page
        try:
            return work(store)
        finally:
            conn.execute("ROLLBACK")

    def _store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = Store.open_reader(self.path)
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    def close(self) -> None:
        """Finish the work in hand, then close every connection."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            store.close()
