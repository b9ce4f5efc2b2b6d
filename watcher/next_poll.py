"""When each watch polls next: the daemon's plan as it logs it, and what `watcher status` shows.

The daemon stores each plan (`watches.next_poll_at`) as it logs it, so status and the log
agree; without a running daemon status can only estimate from the last poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watcher.clock import iso, parse_iso
from watcher.config import Config, Watch
from watcher.store import Store
from watcher.wording import watched_account

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


@dataclass(frozen=True, slots=True)
class NextPoll:
    """One watch's planned next poll, as seen at `now`."""

    watch: Watch
    at: datetime
    now: datetime
    handle: str | None = None  # the account's, once a poll resolved it

    @property
    def account(self) -> str:
        return watched_account(self.watch.account, self.handle)

    @property
    def wait(self) -> float:
        """Seconds from now to the poll; 0 when it is already due."""
        return max((self.at - self.now).total_seconds(), 0.0)

    def line(self) -> str:
        w = self.watch
        return (
            f"next poll of {w.platform} {self.account} {w.relation}"
            f" at {iso(self.at)} (in {format_wait(self.wait)})"
        )

    def fields(self) -> dict[str, Any]:
        """The line's facts for JSON logs."""
        return {
            "platform": self.watch.platform,
            "account": self.account,
            "configured_account": self.watch.account,
            "relation": self.watch.relation,
            "next_poll_at": iso(self.at),
            "next_poll_in_s": round(self.wait, 3),
        }


def format_wait(seconds: float) -> str:
    """A countdown in its two largest units, whole seconds: `14m 58s`, `2h 5m`, `3s`, `0s`."""
    left = max(int(seconds), 0)
    parts: list[tuple[int, str]] = []
    for unit, size in _UNITS:
        count, left = divmod(left, size)
        if count or parts:  # from the largest unit that is not zero
            parts.append((count, unit))
        if len(parts) == 2:
            break
    return " ".join(f"{count}{unit}" for count, unit in parts if count) or "0s"


def shown_next_poll(
    config: Config,
    store: Store,
    watch: Watch,
    now: datetime,
    *,
    daemon_running: bool,
    interval: float | None = None,
) -> str:
    """What status shows: the running daemon's plan while it lies ahead, else an estimate
    from the last poll (`due`, the time, or `at start` for a watch never polled) and
    `interval` (the planned one; the configured one when None)."""
    planned = store.watches.planned_next_poll(watch.key) if daemon_running else None
    row = store.watches.get(watch.key)
    every = interval if interval is not None else config.interval_of(watch)
    return next_poll_shown(planned, row.last_poll_at if row else None, every, now)


def next_poll_shown(
    planned: str | None, last_poll_at: str | None, every: float, now: datetime
) -> str:
    """`shown_next_poll` from what it reads: the running daemon's plan (None: no daemon, or
    none stored), the watch's last poll and its interval (the planned one)."""
    if planned is not None and parse_iso(planned) > now:
        return planned
    if last_poll_at is None:
        return "at start"
    due = parse_iso(last_poll_at) + timedelta(seconds=every)
    return "due" if due <= now else iso(due)
