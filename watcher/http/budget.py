"""A per-platform request budget: so many requests per second, so many at once, for every watch.

Each platform's client owns one budget and every one of its HTTP requests passes through it,
so a hundred watches of one platform, polled together, still stay within the rate the
platform grants (Audius's free plan: 10 requests per second) instead of multiplying it.

The rate is a sliding window, not a token bucket: a bucket that holds one second's worth lets
almost twice the rate through in the second after it was full, and "never exceed" is the
point. With `rate` r, at most max(1, floor(r)) requests start in any window of that many / r
seconds (r = 10: ten per second; r = 0.5: one per two seconds).

When the platform answers 429, the request that got it pauses the whole budget while it backs
off (`paused()`), so the other watches wait with it instead of hammering. When it asks for a
longer wait than a poll waits out (a Retry-After past `RetryPolicy.max_retry_after`), the
poll that got it fails and the budget is held (`hold()`) for as long as the platform asked:
a request that would wait longer than the poll's patience fails at once with the same reason.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Protocol

from watcher.errors import PlatformError
from watcher.http.retry import Sleep

Monotonic = Callable[[], float]


class SharedStarts(Protocol):
    """A pace shared with other processes (shared_pace.py): `start` returns when one may."""

    async def start(self) -> None: ...


class SharedConcurrency(Protocol):
    """Slots shared with other processes (shared_slots.py): one held per request in flight."""

    def slot(self) -> AbstractAsyncContextManager[None]: ...


class RequestBudget:
    """At most `rate` requests per second and `concurrency` requests in flight."""

    def __init__(
        self,
        rate: float,
        concurrency: int,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or concurrency < 1:
            raise ValueError("a budget needs a positive rate and at least one concurrent request")
        self.rate = rate
        self.concurrency = concurrency
        self._per_window = max(1, math.floor(rate))
        self._window = self._per_window / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._gate = asyncio.Lock()  # waiters are served in arrival order
        self._slots = asyncio.Semaphore(concurrency)
        self._pauses = 0
        self._running = asyncio.Event()
        self._running.set()
        # (until, reason, patience): the platform asked everyone to wait until `until`.
        self._held: tuple[float, str, float] | None = None
        self._shared: SharedStarts | None = None
        self._shared_slots: SharedConcurrency | None = None

    @property
    def monotonic(self) -> Monotonic:
        return self._monotonic

    @property
    def sleep(self) -> Sleep:
        return self._sleep

    def share(self, starts: SharedStarts) -> None:
        """Also keep to `starts`, the pace every process on the database shares."""
        self._shared = starts

    def share_slots(self, slots: SharedConcurrency) -> None:
        """Also keep to `slots`, the concurrency every process on the database shares."""
        self._shared_slots = slots

    def hold(self, seconds: float, reason: str, *, patience: float) -> None:
        """No request starts for `seconds`; one that would wait longer than `patience` for
        it raises PlatformError(`reason`) instead of waiting."""
        until = self._monotonic() + seconds
        if self._held is None or until > self._held[0]:
            self._held = (until, reason, patience)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one concurrent slot, started within the rate, for the length of one request."""
        await self._wait_out_hold()
        async with self._slots:
            shared = self._shared_slots
            async with shared.slot() if shared is not None else nullcontext():
                await self._pace()
                yield

    @asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No request starts while any pause is open (a 429's back-off runs inside one)."""
        self._pauses += 1
        self._running.clear()
        try:
            yield
        finally:
            self._pauses -= 1
            if self._pauses == 0:
                self._running.set()

    async def _wait_out_hold(self) -> None:
        while self._held is not None:
            until, reason, patience = self._held
            left = until - self._monotonic()
            if left <= 0:
                self._held = None
                return
            if left > patience:
                raise PlatformError(f"{reason} ({left:,.0f} s left)")
            await self._sleep(left)

    async def _pace(self) -> None:
        async with self._gate:
            while True:
                await self._running.wait()
                now = self._monotonic()
                # A nanosecond's tolerance: a sleep to exactly the window's end may land a
                # rounding error short of it, and sleeping that error again changes nothing.
                while self._starts and now - self._starts[0] >= self._window - 1e-9:
                    self._starts.popleft()
                if len(self._starts) < self._per_window:
                    if self._shared is not None:
                        await self._shared.start()
                        now = self._monotonic()
                    self._starts.append(now)
                    return
                await self._sleep(self._starts[0] + self._window - now)
