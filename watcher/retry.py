"""One retry policy for every platform HTTP call: bounded, backing off, honouring Retry-After."""

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
