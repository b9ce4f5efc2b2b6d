"""`max_concurrent` across every process on one database: slots leased, not counted per request.

A process holds some of a platform's slots (store/slots.py) and starts at most that many
requests at once. It claims one more only when a request would otherwise wait, keeps it
while requests keep coming, and gives back what it did not use over a tick (TICK). So the
database is written when the number of slots held changes and when leases are renewed, not
per request: a process alone claims its `max_concurrent` slots once and keeps them while it
polls. All processes together hold at most `max_concurrent` slots, so at no moment are more
of the platform's requests in flight, counted at the server (a request's slot is held from
before it is sent until its answer is in).

A process that crashes keeps its slots only until their leases run out (LEASE), or not even
that long for the next process of its host: a holder whose pid is gone is taken over.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import ParamSpec, TypeVar

from watcher.http.budget import Monotonic
from watcher.lock_wait import patiently
from watcher.poll_lease import LeaseHolder, holder_gone
from watcher.store import Store
from watcher.store.slots import SlotHolder

LEASE = 10.0  # seconds a slot stays held without renewal (a crashed holder's wait)
TICK = 0.5  # how often unused slots go back and leases are renewed when due
RETRY = 0.05  # how soon a request waiting on other processes' slots looks again

log = logging.getLogger("watcher.http")
P = ParamSpec("P")
T = TypeVar("T")


class SharedSlots:
    """The slots of one platform this process holds, and the requests in flight in them."""

    def __init__(
        self,
        platform: str,
        store: Store,
        limit: int,
        holder: LeaseHolder,
        monotonic: Monotonic,
    ) -> None:
        self.platform = platform
        self.limit = limit
        self._store = store
        self._holder = SlotHolder(holder.id, holder.pid, holder.host)
        self._host = holder.host
        self._monotonic = monotonic
        self.held: list[int] = []  # slot numbers
        self.in_use = 0
        self._peak = 0  # most in use since the last tick
        self._renew_at = 0.0
        self._freed = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the held slots for the length of one request."""
        await self.acquire()
        try:
            yield
        finally:
            self.in_use -= 1
            self._freed.set()

    async def acquire(self) -> None:
        while True:
            if self.in_use < len(self.held) or await self._claim():
                self.in_use += 1
                self._peak = max(self._peak, self.in_use)
                return
            self._freed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._freed.wait(), RETRY)

    def tidy(self) -> None:
        """Give back the slots unused since the last tick; renew the others' leases when a
        third of them has passed (a write only then, or when slots go back)."""
        surplus = len(self.held) - max(self._peak, self.in_use)
        self._peak = self.in_use
        if surplus > 0:
            spare, self.held = self.held[-surplus:], self.held[:-surplus]
            self._store.slots.release(self.platform, spare, self._holder.holder)
        now = self._monotonic()
        if self.held and now >= self._renew_at:
            kept = self._store.slots.renew(
                self.platform, self.held, self._holder.holder, now + LEASE
            )
            if len(kept) < len(self.held):
                log.warning(
                    "%s: lost %d concurrency slots", self.platform, len(self.held) - len(kept)
                )
            self.held = kept
            self._renew_at = now + LEASE / 3

    def release_all(self) -> None:
        """Give every slot back (the process is done with the platform)."""
        if self._keeper is not None:
            self._keeper.cancel()
            self._keeper = None
        if self.held:
            self._store.slots.release(self.platform, self.held, self._holder.holder)
            self.held = []

    async def _claim(self) -> bool:
        """One more slot, if all processes together hold fewer than `limit`."""
        if len(self.held) >= self.limit:
            return False
        now = self._monotonic()
        slot = await patiently(self._store, self._claim_now, now)
        if slot is None:
            return False
        self.held.append(slot)
        if len(self.held) == 1:
            self._renew_at = now + LEASE / 3
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.get_running_loop().create_task(self._keep())
        return True

    def _claim_now(self, now: float) -> int | None:
        slots = self._store.slots
        slot = slots.claim(self.platform, self.limit, self._holder, now, now + LEASE)
        if slot is not None:
            return slot
        gone = tuple(
            h.holder
            for h in slots.holders(self.platform, now)
            if h.holder != self._holder.holder and holder_gone(h.pid, h.host, self._host)
        )
        if not gone:
            return None
        log.info("%s: taking over the concurrency slots of pids that are gone", self.platform)
        return slots.claim(
            self.platform, self.limit, self._holder, now, now + LEASE, dead_holders=gone
        )

    async def _keep(self) -> None:
        # Real time even under a test's virtual clock: the tick only paces database writes.
        while self.held:
            await asyncio.sleep(TICK)
            try:
                await patiently(self._store, self.tidy)
            except sqlite3.Error as exc:  # the leases run out by themselves
                log.warning("%s: could not tidy concurrency slots: %s", self.platform, exc)
