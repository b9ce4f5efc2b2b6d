"""How the simulated Audius API rations requests: per API key, and per address without one.

API-NOTES: an app is identified by the query parameter `api_key`; the free plan allows 10
requests a second and 500,000 a month per key, and requests without a key fall back to a
lower per-address limit (about 5 a second). Over-limit requests are answered 429 and are not
counted (the server refused them), so what a key has "used" is what it was served.

Seconds are a sliding window on the simulator's clock (tests inject a fake one), the way the
watcher's own budget counts, so a client that keeps to its rate is never refused; months are
UTC calendar months of `calendar` (a wall clock in seconds since the epoch, also injectable).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Clock = Callable[[], float]
# The free plan (API-NOTES).
KEY_PER_SECOND = 10
KEY_PER_MONTH = 500_000
ANONYMOUS_PER_SECOND = 5


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits a simulator enforces once they are switched on (0: that one is off)."""

    key_per_second: int = KEY_PER_SECOND
    key_per_month: int = KEY_PER_MONTH
    anonymous_per_second: int = ANONYMOUS_PER_SECOND


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused and how long until it would be served (Retry-After)."""

    message: str
    retry_after: int


class RateLimiter:
    """Counts the requests each key and each anonymous address were served, and refuses
    the ones past `limits`. Thread-safe: the server thread admits, tests read counts."""

    def __init__(self, limits: RateLimits, *, clock: Clock, calendar: Clock = time.time) -> None:
        self.limits = limits
        self._clock = clock
        self._calendar = calendar
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}  # "key:K" / "address:A" -> arrival times
        self._months: dict[str, tuple[str, int]] = {}  # key -> (its month "2026-07", count)

    def admit(self, key: str | None, address: str) -> Refusal | None:
        """Count one request by `key` (None: anonymous, from `address`); None admits it."""
        limits = self.limits
        with self._lock:
            if key is None:
                return self._within_second(f"address:{address}", limits.anonymous_per_second)
            month = self._month()
            held, used = self._months.get(key, (month, 0))
            used = used if held == month else 0
            if limits.key_per_month and used >= limits.key_per_month:
                wait = math.ceil(_next_month_start(self._calendar()) - self._calendar())
                return Refusal("API Rate Limit Exceeded: monthly quota", max(wait, 1))
            refused = self._within_second(f"key:{key}", limits.key_per_second)
            if refused is None:
                self._months[key] = (month, used + 1)
            return refused

    def used_this_month(self, key: str) -> int:
        """Requests `key` was served this calendar month (UTC)."""
        with self._lock:
            month, used = self._months.get(key, ("", 0))
            return used if month == self._month() else 0

    def _within_second(self, who: str, per_second: int) -> Refusal | None:
        """Admit and note one arrival unless `per_second` arrived in the last second."""
        now = self._clock()
        recent = self._recent.setdefault(who, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if per_second and len(recent) >= per_second:
            wait = math.ceil(recent[0] + 1.0 - now)
            return Refusal("API Rate Limit Exceeded", max(wait, 1))
        recent.append(now)
        return None

    def _month(self) -> str:
        return datetime.fromtimestamp(self._calendar(), UTC).strftime("%Y-%m")


def _next_month_start(now: float) -> float:
    """The epoch seconds at which the UTC month after `now`'s begins."""
    day = datetime.fromtimestamp(now, UTC)
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).timestamp()
