"""The retry policy of an HTTP request made in-process (a platform read, a token grant), and
the one Retry-After parser.

Deliveries retry through the outbox instead, hours apart (`watcher.retry.DeliverySchedule`);
they read a receiver's Retry-After with the same `parse_retry_after`. Each caps what it
honours in its own way: a poll up to `RetryPolicy.max_retry_after`, then it fails; a delivery
up to a day, then a day."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from watcher.http.statuses import PLATFORM_RETRYABLE

Sleep = Callable[[float], Awaitable[None]]

# The longest Retry-After a poll waits out (seconds). A platform asking for more fails the
# poll (its other requests wait with it, see `RequestBudget.hold`): a poll that sleeps for
# an hour holds `watcher once` and the watch's next run hostage to one answer.
MAX_PLATFORM_RETRY_AFTER = 300.0


async def _no_wait(seconds: float) -> None:
    del seconds
    await asyncio.sleep(0)


@dataclass(frozen=True)
class RetryPolicy:
    """How many tries a request gets, how long it waits between them, and which statuses are
    worth another (anything else is final at once: it will not change)."""

    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    # A 429 without a usable Retry-After backs off from this instead of base_delay: the
    # platform said "too many", so the next try should not come a second later.
    rate_limited_delay: float = 5.0
    # A Retry-After is honoured as it is up to this; `max_delay` bounds our own back-off only.
    max_retry_after: float = MAX_PLATFORM_RETRY_AFTER
    retryable: frozenset[int] = PLATFORM_RETRYABLE
    sleep: Sleep = field(default=asyncio.sleep, compare=False)

    @classmethod
    def immediate(cls, attempts: int = 3) -> RetryPolicy:
        """No waiting between tries (a Retry-After is honoured without sleeping): for tests
        and the demo."""
        return cls(attempts=attempts, base_delay=0.0, max_delay=0.0, sleep=_no_wait)

    def retrying(self, statuses: frozenset[int]) -> RetryPolicy:
        """The same policy, trying again on `statuses` only."""
        return replace(self, retryable=statuses)

    def waits_out(self, retry_after: float) -> bool:
        """Whether a poll waits this long for a retry, rather than failing."""
        return retry_after <= self.max_retry_after

    def delay(self, attempt: int, retry_after: float | None, rate_limited: bool = False) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 1); the
        platform's Retry-After as it is (up to `max_retry_after`)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        base = max(self.base_delay, self.rate_limited_delay) if rate_limited else self.base_delay
        backoff = base * (2.0 ** (attempt - 1))
        jittered: float = backoff * (0.5 + random.random() / 2)
        return min(jittered, self.max_delay)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date.

    None when absent or nonsense (negative, infinite, NaN, unparsable: all seen), which is
    ignored rather than trusted; a date in the past means now (0). No cap: how long to honour
    is each policy's call (`RetryPolicy.max_retry_after`, `DeliverySchedule.next_delay`).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = max((moment - (now or datetime.now(UTC))).total_seconds(), 0.0)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
