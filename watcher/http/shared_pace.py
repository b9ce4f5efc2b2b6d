"""`requests_per_second` across every process on one database.

Each process claims a stretch of the platform's time from the database (`Quotas.claim_pace`:
the next free stretch, so no two processes' stretches overlap) and starts its requests inside
it at most one per 1/rate seconds (2% more: see MARGIN), the last one at least 1/rate
before the stretch ends. So
every start, of any process, is at least 1/rate after the one before it: at most `rate`
start in any second, counted at the server. A stretch lasts a tenth of a second (one request
at 10/s, a thousand at 10,000/s), so a busy process writes the database ten times a second at
most, and a process that claims a stretch it does not use holds the others back by no more.
"""

from __future__ import annotations

from watcher.http.budget import Monotonic
from watcher.http.retry import Sleep
from watcher.lock_wait import patiently
from watcher.store import Store

STRETCH = 0.1  # seconds of the platform's pace claimed at once
# Starts are spaced 2% wider than the rate asks: requests leaving on time may still arrive
# a few milliseconds apart from when they left, and it is the server that counts.
MARGIN = 1.02


class SharedPace:
    """One platform's request starts, spaced so all processes together keep to `rate`."""

    def __init__(
        self, platform: str, store: Store, rate: float, monotonic: Monotonic, sleep: Sleep
    ) -> None:
        self.platform = platform
        self._store = store
        self._gap = MARGIN / rate
        self._span = max(self._gap, STRETCH)
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0  # the earliest start in the current stretch
        self._end = 0.0  # the current stretch's end

    async def start(self) -> None:
        """Return at a moment this process may start a request (callers are serialized)."""
        while True:
            now = self._monotonic()
            start = max(now, self._next)
            if start + self._gap <= self._end + 1e-9:
                if start > now:
                    await self._sleep(start - now)
                self._next = start + self._gap
                return
            await self._claim(now)

    async def _claim(self, now: float) -> None:
        # Locked by another process: `patiently` waits it out off the loop.
        claim = self._store.quotas.claim_pace
        begins = await patiently(self._store, claim, self.platform, self._span, now)
        self._next, self._end = begins, begins + self._span
