"""`watcher serve`: the dashboard, /healthz and /metrics without polling, for those who poll
from cron. Its health is the database's: readable, with the watches the config names."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watcher import database_problems, metrics
from watcher.clock import Clock, SystemClock
from watcher.config import Config
from watcher.errors import DatabaseProblem
from watcher.store import Store
from watcher.web.serving import endpoint

log = logging.getLogger("watcher")


class ReadHealth:
    """/healthz of `watcher serve`: ok while the database can be read (nothing here writes,
    so a read-only copy is healthy too); the watches and how many fail, as the daemon says."""

    def __init__(self, config: Config, database: Path) -> None:
        self._config = config
        self._database = database

    async def check(self) -> tuple[bool, dict[str, Any]]:
        try:
            rows = await asyncio.to_thread(self._rows)
        except DatabaseProblem as exc:
            return False, {"status": "unavailable", "reason": str(exc)}
        except sqlite3.Error as exc:
            reason = database_problems.describe(self._database, exc)
            return False, {"status": "unavailable", "reason": reason}
        keys = {watch.key for watch in self._config.watch}
        failing = sum(1 for key, failures in rows if key in keys and failures)
        return True, {"status": "ok", "watches": len(keys), "failing_watches": failing}

    def _rows(self) -> list[tuple[str, int]]:
        store = Store.open_read_only(self._database)
        try:
            return [(row.key, row.consecutive_failures) for row in store.watches.all()]
        finally:
            store.close()


async def serve(config: Config, *, clock: Clock | None = None, echo: Callable[[str], None]) -> None:
    """Serve until SIGTERM or SIGINT; CannotListen when `[http] listen` cannot be bound."""
    database = config.database_path
    moment = clock or SystemClock()
    scraped = Store.open_read_only(database)  # /metrics reads on the loop, as the daemon's does
    collector = metrics.StoreCollector(
        scraped, lambda: metrics.watch_keys(config), lambda: metrics.quota_limits(config), moment
    )
    registry = metrics.current().registry
    registry.register(collector)
    server = endpoint(
        lambda: config,
        database,
        moment,
        health=ReadHealth(config, database).check,
        scrape=lambda: metrics.current().exposition(),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        url = await server.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        echo(f"serving the dashboard, /healthz and /metrics on {url} (Ctrl-C to stop)")
        await stop.wait()
        await server.close()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        registry.unregister(collector)
        scraped.close()
