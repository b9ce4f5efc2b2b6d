"""When a failed delivery is tried again: hours apart, through the outbox.

In-process HTTP retries (a platform read, a token grant) are `watcher.http.retry.RetryPolicy`;
a receiver's Retry-After is read by the same `watcher.http.retry.parse_retry_after`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# A delivery's Retry-After beyond a day is treated as a day: we still want to try again.
MAX_DELIVERY_RETRY_AFTER = 86_400.0

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
