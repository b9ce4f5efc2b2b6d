"""Retry policies, each in one place: platform HTTP calls (seconds, in-process) and event
deliveries (hours, through the outbox). Both back off and honour Retry-After, read by the one
`parse_retry_after`; each caps what it honours in its own way (a platform poll up to
`RetryPolicy.max_retry_after`, then it fails; a delivery up to a day, then a day)."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Sleep = Callable[[float], Awaitable[None]]

# The longest Retry-After a poll waits out (seconds). A platform asking for more fails the
# poll (its other requests wait with it, see `RequestBudget.hold`): a poll that sleeps for
# an hour holds `watcher once` and the watch's next run hostage to one answer.
MAX_PLATFORM_RETRY_AFTER = 300.0
# A delivery's Retry-After beyond a day is treated as a day: we still want to try again.
MAX_DELIVERY_RETRY_AFTER = 86_400.0


async def _no_wait(seconds: float) -> None:
    del seconds
    await asyncio.sleep(0)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    # A 429 without a usable Retry-After backs off from this instead of base_delay: the
    # platform said "too many", so the next try should not come a second later.
    rate_limited_delay: float = 5.0
    # A Retry-After is honoured as it is up to this; `max_delay` bounds our own back-off only.
    max_retry_after: float = MAX_PLATFORM_RETRY_AFTER
    sleep: Sleep = field(default=asyncio.sleep, compare=False)

    @classmethod
    def immediate(cls, attempts: int = 3) -> RetryPolicy:
        """No waiting between tries (a Retry-After is honoured without sleeping): for tests
        and the demo."""
        return cls(attempts=attempts, base_delay=0.0, max_delay=0.0, sleep=_no_wait)

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


# Waits before each retry of a failed delivery: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DELIVERY_DELAYS: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True)
class DeliverySchedule:
    """When a failed delivery is tried again, and when it is given up (dead).

    Spread over about 27.6 hours so that a receiver down for a night still gets everything,
    with a little jitter (up to `jitter` of each wait, only ever later) so deliveries that
    failed together do not all come back in the same second.
    """

    delays: tuple[float, ...] = DELIVERY_DELAYS
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random, compare=False)

    @property
    def attempts(self) -> int:
        """Attempts in all before a delivery is dead: the first one plus one per delay."""
        return len(self.delays) + 1

    def next_delay(self, attempts: int, retry_after: float | None = None) -> float | None:
        """Seconds until the next try after `attempts` failed tries; None: give up (dead).

        A receiver's Retry-After is honoured: the next try is never sooner than it asks (up to
        a day; a longer wait is taken as a day).
        """
        if attempts > len(self.delays):
            return None
        wait = self.delays[max(attempts, 1) - 1] * (1.0 + self.rng.uniform(0.0, self.jitter))
        if retry_after is None:
            return wait
        return max(wait, min(retry_after, MAX_DELIVERY_RETRY_AFTER))
