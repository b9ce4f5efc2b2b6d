"""A platform's request quotas and holds, as every process on the database shares them.

Every attempt to a platform passes `QuotaGate.admit` (composed around it in layers.py, so
profiles, pages, resolves, token requests and retries all count). Writing the database for
each request would cost a transaction per request on the event loop, so the gate claims a
block of requests at once (`Quotas.claim`: counted atomically, never past a limit) and spends
it locally; what is left goes back at `settle`. The database's count is therefore never below
what was sent, and above it by at most the unsent rest of a block whose process died.

A hold (a platform's rate limit asked to wait longer than a poll waits) is read from the
database when a block is claimed and at most once a second besides, so a hold one process
writes stops the others within a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from watcher.clock import Clock, iso, parse_iso
from watcher.errors import PlatformError
from watcher.periods import day_of, month_of
from watcher.store import Store
from watcher.store.quotas import Limits

BLOCK = 100  # requests claimed at once: a quiet poll of 30,000 follows (301 requests) claims 4
HOLD_CHECK = timedelta(seconds=1)


class PlatformPaused(PlatformError):
    """No request may go to the platform now (quota spent, or held): the poll is not a
    failure of its watch, only a pause of the platform, reported once per platform."""

    def __init__(self, platform: str, line: str, resets_at: datetime) -> None:
        super().__init__(line)
        self.platform = platform
        self.line = line
        self.resets_at = resets_at


class QuotaSpent(PlatformPaused):
    """The platform's month or day is spent: nothing is sent until it turns."""

    def __init__(self, platform: str, period: str, limit: int, resets_at: datetime) -> None:
        when = "this month" if period == "month" else "today"
        line = f"quota spent: {platform} {limit}/{limit} requests {when} (resets {iso(resets_at)})"
        super().__init__(platform, line, resets_at)
        self.period = period
        self.limit = limit


class PlatformHeld(PlatformPaused):
    """The platform asked everyone to wait (a rate limit's reset time) until `resets_at`."""

    def __init__(self, platform: str, until: datetime) -> None:
        super().__init__(platform, held_line(platform, until), until)


def held_line(platform: str, until: datetime) -> str:
    return f"rate limited by {platform} until {iso(until)}"


def next_month(now: datetime) -> datetime:
    """When a month's quota spent at `now` resets."""
    return month_of(now)[1]


def next_day(now: datetime) -> datetime:
    """When a day's quota spent at `now` resets (and a claimed block's day ends)."""
    return day_of(now)[1]


@dataclass
class _Block:
    """Requests claimed at `claimed_at`, usable until the day turns (`turns_at`)."""

    left: int
    claimed_at: datetime
    turns_at: datetime


class QuotaGate:
    """One platform's share of its quotas in this process, and its view of the holds."""

    def __init__(
        self, platform: str, store: Store, clock: Clock, limits: Limits, *, block: int = BLOCK
    ) -> None:
        self.platform = platform
        self.limits = limits
        self.store = store
        self._clock = clock
        self._block_size = block
        self._block: _Block | None = None
        self._paused: PlatformPaused | None = None
        self._fresh_until = datetime.min.replace(tzinfo=UTC)
        self.pauses: list[PlatformPaused] = []  # every pause this gate met, for `once`

    def admit(self) -> None:
        """Count one request, or raise PlatformPaused if none may be sent now."""
        now = self._clock.now()
        block = self._block
        # One comparison on the way of every request: `_fresh_until` is the earlier of the
        # day's turn and the next read of the holds.
        if block is not None and block.left > 0 and now < self._fresh_until:
            block.left -= 1
            return
        self._admit_slowly(now)

    def _admit_slowly(self, now: datetime) -> None:
        """The path that reads or writes the database: a hold, a new block, a turned day."""
        if self._paused is not None and now < self._paused.resets_at:
            raise self._paused
        self._paused = None
        self._read_holds(now)
        block = self._block
        if block is None or block.left <= 0 or now >= block.turns_at:
            self.settle()
            block = self._claim(now)
        block.left -= 1
        self._fresh_until = min(block.turns_at, now + HOLD_CHECK)

    def _read_holds(self, now: datetime) -> None:
        hold = self.store.quotas.held(self.platform, now)
        if hold is not None:
            self._pause(PlatformHeld(self.platform, parse_iso(hold.until)))

    def _claim(self, now: datetime) -> _Block:
        grant = self.store.quotas.claim(self.platform, self._block_size, now, self.limits)
        if grant.granted == 0:
            self._pause(self._spent(grant.use.month, now))
        self._block = _Block(grant.granted, now, next_day(now))
        return self._block

    def _spent(self, used_month: int, now: datetime) -> QuotaSpent:
        if self.limits.per_month and used_month >= self.limits.per_month:
            return QuotaSpent(self.platform, "month", self.limits.per_month, next_month(now))
        return QuotaSpent(self.platform, "day", self.limits.per_day, next_day(now))

    def _pause(self, paused: PlatformPaused) -> None:
        self._paused = paused
        self._remember(paused)
        raise paused

    def _remember(self, paused: PlatformPaused) -> None:
        """Keep each distinct pause once, for `once`'s one line per platform."""
        if all(p.line != paused.line for p in self.pauses):
            self.pauses.append(paused)

    def hold(self, until: datetime, reason: str) -> None:
        """No request to this platform before `until`, in any process on the database."""
        self.store.quotas.hold(self.platform, until, reason)
        self._fresh_until = datetime.min.replace(tzinfo=UTC)  # read back on the next request
        self._remember(PlatformHeld(self.platform, until))

    def now(self) -> datetime:
        return self._clock.now()

    def settle(self) -> None:
        """Give the unsent rest of the current block back to the periods it came from."""
        block = self._block
        if block is not None and block.left > 0:
            self.store.quotas.give_back(self.platform, block.left, block.claimed_at)
        self._block = None
