"""Is the daemon healthy? Its scheduler still runs jobs, and its database still takes writes.

What healthz does *not* judge: whether platforms answer. A platform outage fails watches
(visible in `watcher status`, /metrics and the /healthz body), but restarting the process
would not fix it, so it must not make a container orchestrator restart watcher.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from watcher.clock import iso, parse_iso
from watcher.database_problems import is_locked
from watcher.durations import format_duration
from watcher.store import Store, WatchRow, probe_writable
from watcher.wording import watched_account

if TYPE_CHECKING:
    from watcher.config import Watch

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


def never_polled(row: WatchRow | None) -> bool:
    """No poll of the watch was ever recorded (a skipped one records nothing)."""
    return row is None or row.last_poll_at is None


def problems(store: Store, watches: Sequence[Watch], notifiers: Collection[str]) -> list[str]:
    """What needs someone, one line each, for `watcher status --check`: failing watches,
    watches never polled, notifiers disabled, dead deliveries. Empty when all is well."""
    rows = {row.key: row for row in store.watches.all()}
    handles = store.watches.handles()
    found = []
    for watch in watches:
        row = rows.get(watch.key)
        who = f"{watch.platform} {watched_account(watch.account, handles.get(watch.key))}"
        who += f" {watch.relation}"
        if never_polled(row):
            found.append(f"watch {who}: never polled")
        elif row is not None and row.consecutive_failures:
            since = "" if row.baseline_at else ", never successfully"
            found.append(
                f"watch {who}: failing ({row.consecutive_failures} polls in a row{since}):"
                f" {row.last_error or 'unknown error'}"
            )
    disabled = store.notifiers.disabled()
    counts = store.outbox.counts() if store.outbox.states() is not None else {}
    for name in notifiers:
        if name in disabled:
            since, reason = disabled[name]
            found.append(f"notifier {name}: disabled since {since}: {reason}")
        dead = counts.get(name, {}).get("dead", 0)
        if dead:
            found.append(
                f"notifier {name}: {dead} dead deliver{'y' if dead == 1 else 'ies'}"
                " (`watcher deliveries --dead`)"
            )
    return found


def _reason(exc: sqlite3.Error) -> str:
    return LOCKED if is_locked(exc) else f"database not readable: {exc}"


def summary_line(store: Store, watch_keys: Collection[str], now: datetime) -> str:
    """One line for `watcher status`: failing and never polled watches, deliveries, each
    token's expiry. A watch is ok once it polled and its last poll did not fail."""
    rows = {row.key: row for row in store.watches.all() if row.key in watch_keys}
    failing = sum(1 for row in rows.values() if row.consecutive_failures)
    never = sum(1 for key in watch_keys if never_polled(rows.get(key)))
    total = len(watch_keys)
    if failing:
        watches = f"{failing} of {total} watches failing"
        watches += f", {never} never polled" if never else ""
    elif never:
        watches = f"{total - never} of {total} watches ok, {never} never polled"
    else:
        watches = f"all {total} watches ok"
    parts = [watches]
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
