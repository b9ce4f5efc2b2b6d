"""Retry policies, each in one place: platform HTTP calls (seconds, in-process) and event
deliveries (hours, through the outbox). Both back off and honour Retry-After."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    # A 429 without a usable Retry-After backs off from this instead of base_delay: the
    # platform said "too many", so the next try should not come a second later.
    rate_limited_delay: float = 5.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False)

    @classmethod
    def immediate(cls, attempts: int = 3) -> RetryPolicy:
        """No waiting between tries: for tests and the demo."""
        return cls(attempts=attempts, base_delay=0.0, max_delay=0.0)

    def delay(self, attempt: int, retry_after: float | None, rate_limited: bool = False) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        base = max(self.base_delay, self.rate_limited_delay) if rate_limited else self.base_delay
        backoff = base * (2.0 ** (attempt - 1))
        jittered: float = backoff * (0.5 + random.random() / 2)
        return min(jittered, self.max_delay)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header; None when absent or nonsense (it has been seen)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None


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

        A receiver's Retry-After is honoured: the next try is never sooner than it asks.
        """
        if attempts > len(self.delays):
            return None
        wait = self.delays[max(attempts, 1) - 1] * (1.0 + self.rng.uniform(0.0, self.jitter))
        return max(wait, retry_after) if retry_after is not None else wait
