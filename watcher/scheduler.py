"""The daemon: APScheduler polls each watch on its interval plus jitter until told to stop."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.clock import parse_iso
from watcher.config import Config, Watch
from watcher.poll import Engine
from watcher.store import Store

log = logging.getLogger("watcher")


def first_run(config: Config, store: Store, watch: Watch, now: datetime) -> datetime:
    """When a watch next polls after a start: from its last poll, so restarts do not stampede.

    An overdue watch runs soon, spread over its jitter so a fleet does not fire at once.
    """
    row = store.watch(watch.key)
    spread = timedelta(seconds=random.uniform(0, max(config.jitter_of(watch), 1.0)))
    if row is None or row.last_poll_at is None:
        return now + spread
    due = parse_iso(row.last_poll_at) + timedelta(seconds=config.interval_of(watch))
    return due if due > now + spread else now + spread


class Daemon:
    def __init__(self, config: Config, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self._stop = asyncio.Event()
        self._running: set[asyncio.Task[Any]] = set()

    def stop(self) -> None:
        self._stop.set()

    async def _poll_job(self, watch: Watch) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            report = await self.engine.poll(watch)
        finally:
            self._running.discard(task)
        (log.info if report.ok else log.warning)(report.line())
        for event in report.events:
            log.info("event %s %s -> %s", event.type, event.account.handle, event.target.handle)

    async def run(self, *, install_signals: bool = True) -> None:
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC")
        now = datetime.now(tz=scheduler.timezone)
        for watch in self.config.watch:
            scheduler.add_job(
                self._poll_job,
                IntervalTrigger(
                    seconds=self.config.interval_of(watch), jitter=self.config.jitter_of(watch)
                ),
                args=[watch],
                id=watch.key,
                name=watch.key,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=first_run(self.config, self.engine.store, watch, now),
            )
        scheduler.start()
        count = len(self.config.watch)
        log.info("watching %d account list(s); stop with Ctrl-C or SIGTERM", count)
        try:
            await self._stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self._finish_running(grace=5.0)

    async def _finish_running(self, grace: float) -> None:
        """Give in-flight polls a moment, then cancel them: a cancelled poll commits nothing."""
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
