"""The planner: how often each watch may poll so that a platform's quotas last their period.

Pure arithmetic, no I/O: `fleet_plan.py` feeds it each watch's cost and the quotas' use, the
daemon, `watcher once`, `plan` and `status` show what it decides.

A quota (per UTC month or day) less its reserve, minus what was already used, spread over
the seconds left in its period, is a request *rate* the platform may still be sent; the
tightest period's rate binds. Watches demand `cost / interval` requests a second. When the
fleet demands more, intervals are lengthened by **water-filling** (max-min fairness on
request rate): every watch is entitled to an equal share of the allowed rate; one that needs
less keeps its configured interval, and what it leaves is shared among the others. So small,
cheap lists keep their interval longest and the big lists that overrun the quota absorb the
stretch, instead of one 20,000-follow list slowing every small watch down.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate

# No plan stretches an interval past the longest one a config may set (30 days).
LONGEST_INTERVAL = 30 * 86400.0
# Bisection steps for the water level: far past float precision for any fleet.
_STEPS = 200


@dataclass(frozen=True, slots=True)
class Demand:
    """One watch as the planner sees it: requests per poll and configured seconds between."""

    key: str
    cost: float
    interval: float


@dataclass(frozen=True, slots=True)
class Period:
    """One quota's calendar period (`month` or `day`, UTC): its limit (0: none) and use."""

    name: str
    limit: int
    used: int
    start: datetime
    end: datetime

    def allowance(self, reserve: float) -> float:
        """Requests still to spend this period, keeping `reserve` of the limit unspent."""
        return self.limit * (1.0 - reserve) - self.used

    def remaining(self, now: datetime) -> float:
        return max((self.end - now).total_seconds(), 1.0)

    def length(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Allowance:
    """The request rate (per second) the quotas allow from now on, and which period sets it
    (None: no quota limits this platform)."""

    rate: float | None
    binding: str | None


def allowance(periods: Sequence[Period], reserve: float, now: datetime) -> Allowance:
    """The tightest rate among the periods that have a quota; 0 once one is spent."""
    best = Allowance(None, None)
    for period in periods:
        if period.limit <= 0:
            continue
        rate = max(period.allowance(reserve), 0.0) / period.remaining(now)
        if best.rate is None or rate < best.rate:
            best = Allowance(rate, period.name)
    return best


def demand_rate(demands: Sequence[Demand], intervals: Mapping[str, float]) -> float:
    """Requests a second the fleet sends at `intervals`."""
    return sum(d.cost / intervals[d.key] for d in demands)


def plan(
    demands: Sequence[Demand], rate: float | None, longest: float = LONGEST_INTERVAL
) -> dict[str, float]:
    """Each watch's planned interval (seconds): its configured one while the fleet fits
    `rate`, else water-filled so that it does (never shorter than configured, never longer
    than `longest`, or its configured interval if that is longer still).

    When even `longest` for every stretched watch cannot fit (the quota is spent), every
    watch gets the longest interval it may have: the best the plan can do.
    """
    configured = {d.key: d.interval for d in demands}
    if rate is None or demand_rate(demands, configured) <= rate:
        return configured
    floors = [d.cost / max(longest, d.interval) for d in demands]  # least rate each may get
    ceilings = [d.cost / d.interval for d in demands]  # what its configured interval asks
    level = _water_level(floors, ceilings, rate)
    planned: dict[str, float] = {}
    for demand, floor, ceiling in zip(demands, floors, ceilings, strict=True):
        share = min(max(level, floor), ceiling)
        if share >= ceiling:
            planned[demand.key] = demand.interval
        else:
            # Whole seconds, rounded up: a stretched interval only ever errs on the quota's side.
            stretched = math.ceil(demand.cost / share)
            planned[demand.key] = float(min(stretched, max(longest, demand.interval)))
    return planned


def _water_level(floors: list[float], ceilings: list[float], rate: float) -> float:
    """The highest level L with Σ clamp(L, floor_i, ceiling_i) ≤ rate (0 if none is).

    The sum is nondecreasing in L; with the bounds sorted and summed once, each evaluation
    costs two binary searches, so a fleet of thousands plans in a millisecond or two.
    """
    low_sorted, high_sorted = sorted(floors), sorted(ceilings)
    low_sums = [0.0, *accumulate(low_sorted)]
    high_sums = [0.0, *accumulate(high_sorted)]
    count = len(floors)

    def total(level: float) -> float:
        capped = bisect_left(high_sorted, level)  # ceiling < level: they take their ceiling
        floored = bisect_right(low_sorted, level)  # floor > level: they take their floor
        between = count - capped - (count - floored)  # the rest take the level itself
        floor_part = low_sums[count] - low_sums[floored]
        return high_sums[capped] + floor_part + level * between

    low, high = 0.0, max(ceilings)
    if total(low) > rate:
        return 0.0
    for _ in range(_STEPS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if total(middle) <= rate:
            low = middle
        else:
            high = middle
    return low


def projection(
    demands: Sequence[Demand], intervals: Mapping[str, float], period: Period, now: datetime
) -> float:
    """Requests the period ends with: what it used, plus the fleet's rate over what is left."""
    return period.used + demand_rate(demands, intervals) * period.remaining(now)
