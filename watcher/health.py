"""Is the daemon healthy? Its scheduler still runs jobs, and its database still takes writes.

What healthz does *not* judge: whether platforms answer. A platform outage fails watches
(visible in `watcher status`, /metrics and the /healthz body), but restarting the process
would not fix it, so it must not make a container orchestrator restart watcher.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from watcher.clock import iso, parse_iso
from watcher.database_problems import is_locked
from watcher.durations import format_duration
from watcher.store import Store, probe_writable

HEARTBEAT_EVERY = 5.0  # seconds between scheduler heartbeats
STALE_AFTER = 30.0  # a heartbeat older than this means the scheduler stopped running jobs
# Seconds the write probe waits for the database lock: /healthz must answer well within the
# 2 s a health check typically allows, lock or not.
PROBE_TIMEOUT = 0.5
LOCKED = "database locked"


class Health:
    """The daemon's liveness: a heartbeat the scheduler beats, a write probe, a stop flag."""

    def __init__(
        self,
        store: Store,
        watch_keys: Callable[[], Collection[str]],
        *,
        clock: Callable[[], float] = time.monotonic,
        stale_after: float = STALE_AFTER,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._store = store
        self._path = store.file_path()
        self._watch_keys = watch_keys
        self._clock = clock
        self._stale_after = stale_after
        self._probe_timeout = probe_timeout
        self._started = clock()
        self._last_beat = self._started
        self._stopping = False

    def beat(self) -> None:
        """Called by a scheduler job: proof that the scheduler still runs jobs."""
        self._last_beat = self._clock()

    def stopping(self) -> None:
        self._stopping = True

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, JSON body). The body says why when unhealthy."""
        now = self._clock()
        age = now - self._last_beat
        if self._stopping:
            return False, {"status": "unavailable", "reason": "shutting down"}
        if age > self._stale_after:
            reason = f"scheduler stalled: no heartbeat for {age:.0f}s"
            return False, {"status": "unavailable", "reason": reason}
        # In a thread: the probe waits for the lock, and the loop must not.
        problem = await asyncio.to_thread(probe_writable, self._path, self._probe_timeout)
        if problem is not None:
            return False, {"status": "unavailable", "reason": problem}
        keys = self._watch_keys()
        try:  # a WAL read waits for no writer; a lock taken since the probe answers "locked"
            rows = self._store.watches.all()
        except sqlite3.Error as exc:
            return False, {"status": "unavailable", "reason": _reason(exc)}
        failing = sum(1 for row in rows if row.key in keys and row.consecutive_failures)
        return True, {
            "status": "ok",
            "uptime_seconds": round(now - self._started, 1),
            "heartbeat_age_seconds": round(age, 1),
            "watches": len(keys),
            "failing_watches": failing,
        }


def _reason(exc: sqlite3.Error) -> str:
    return LOCKED if is_locked(exc) else f"database not readable: {exc}"


def summary_line(store: Store, watch_keys: Collection[str], now: datetime) -> str:
    """One line for `watcher status`: failing watches, deliveries, each token's expiry."""
    rows = [row for row in store.watches.all() if row.key in watch_keys]
    failing = sum(1 for row in rows if row.consecutive_failures)
    parts = [
        f"{failing} of {len(watch_keys)} watches failing"
        if failing
        else f"all {len(watch_keys)} watches ok"
    ]
    states = store.outbox.states()
    if states is not None:
        held = sum(count for count, _ in store.outbox.held(iso(now)).values())
        pending = states.get("pending", 0) - held
        waiting = f", {held} held for digests" if held else ""
        parts.append(f"deliveries: {pending} pending{waiting}, {states.get('dead', 0)} dead")
    for token in store.tokens.health() or []:
        expires = parse_iso(token.expires_at)
        left = (expires - now).total_seconds()
        when = f"in {format_duration(left)}" if left > 0 else f"{format_duration(-left)} ago"
        verb = "expires" if left > 0 else "expired"
        parts.append(f"{token.platform} token {verb} {token.expires_at} ({when})")
    return "health: " + "; ".join(parts)
