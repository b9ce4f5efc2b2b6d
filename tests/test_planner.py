"""The planner alone: random fleets against random quotas, and the few cases a user reads."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from watcher import planner
from watcher.periods import day_of, month_of
from watcher.planner import LONGEST_INTERVAL, Demand, Period

NOW = datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)
MONTH = month_of(NOW)
DAY = day_of(NOW)


def random_fleet(rng: random.Random) -> list[Demand]:
    sizes = [200, 2_000, 20_000, 1_000_000]
    intervals = [0.5, 30.0, 300.0, 900.0, 3600.0, 86400.0, LONGEST_INTERVAL]
    return [
        Demand(
            f"w{i}",
            cost=1 + rng.choice(sizes) / 100 * rng.uniform(0.01, 1),
            interval=rng.choice(intervals) * rng.uniform(0.5, 1.0),
        )
        for i in range(rng.randint(1, 60))
    ]


def random_periods(rng: random.Random) -> list[Period]:
    per_month = rng.choice([0, 1_000, 500_000, 10_000_000])
    per_day = rng.choice([0, 0, 500, 16_000])
    return [
        Period("month", per_month, rng.randint(0, max(per_month, 1)), *MONTH),
        Period("day", per_day, rng.randint(0, max(per_day // 2, 1)), *DAY),
    ]


def achievable(demands: list[Demand], periods: list[Period], reserve: float) -> bool:
    """Whether every watch at the longest interval it may have fits every quota."""
    longest = {d.key: max(LONGEST_INTERVAL, d.interval) for d in demands}
    return all(
        planner.projection(demands, longest, p, NOW) <= p.limit * (1 - reserve)
        for p in periods
        if p.limit > 0
    )


@pytest.mark.parametrize("seed", range(400))
def test_a_random_fleet_is_planned_within_its_quotas_without_shortening_any_interval(
    seed: int,
) -> None:
    rng = random.Random(seed)
    demands, periods = random_fleet(rng), random_periods(rng)
    reserve = rng.choice([0.0, 0.05, 0.2])
    allowed = planner.allowance(periods, reserve, NOW)
    planned = planner.plan(demands, allowed.rate)

    for demand in demands:
        assert planned[demand.key] >= demand.interval
        assert planned[demand.key] <= max(LONGEST_INTERVAL, demand.interval)
    configured = {d.key: d.interval for d in demands}
    fits_as_configured = all(
        planner.projection(demands, configured, p, NOW) <= p.limit * (1 - reserve)
        for p in periods
        if p.limit > 0
    )
    if fits_as_configured:
        assert planned == configured
    if achievable(demands, periods, reserve):
        for period in periods:
            if period.limit > 0:
                projected = planner.projection(demands, planned, period, NOW)
                assert projected <= period.limit * (1 - reserve) * (1 + 1e-9) + 1e-6
    else:  # the best it can do: every watch at its longest
        assert planned == {d.key: max(LONGEST_INTERVAL, d.interval) for d in demands}


@pytest.mark.parametrize("seed", range(100))
def test_water_filling_stretches_the_hungriest_watches_first(seed: int) -> None:
    """A watch that asks for less than another keeps at least as much of what it asked."""
    rng = random.Random(seed)
    demands = random_fleet(rng)
    rate = planner.demand_rate(demands, {d.key: d.interval for d in demands}) * rng.uniform(
        0.05, 0.95
    )
    planned = planner.plan(demands, rate)
    granted = {d.key: d.cost / planned[d.key] for d in demands}
    assert planner.demand_rate(demands, planned) <= rate * (1 + 1e-9)
    for a in demands:
        for b in demands:
            asks_a, asks_b = a.cost / a.interval, b.cost / b.interval
            if asks_a <= asks_b and planned[a.key] > a.interval:
                # a was stretched, so b (asking more) got no more than a's level, give or take
                # the whole second a stretched interval is rounded up to
                level_a = a.cost / max(planned[a.key] - 1, 1e-9)
                assert granted[b.key] <= level_a * (1 + 1e-9)


def test_no_quota_keeps_every_interval() -> None:
    demands = [Demand("a", 21, 1.0), Demand("b", 201, 0.5)]
    periods = [Period("month", 0, 0, *MONTH), Period("day", 0, 0, *DAY)]
    assert planner.allowance(periods, 0.05, NOW).rate is None
    assert planner.plan(demands, None) == {"a": 1.0, "b": 0.5}


def test_a_big_list_absorbs_the_stretch_and_small_ones_keep_their_interval() -> None:
    """Ten 200-follow lists every 15 minutes and one 20,000-follow list every 5, on the free
    plan at the start of a 30-day month: the small ones fit; the big one is stretched."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    month = Period("month", 500_000, 0, *month_of(start))
    small = [Demand(f"s{i}", 3, 900.0) for i in range(10)]
    big = Demand("big", 201, 300.0)
    allowed = planner.allowance([month], 0.05, start)
    assert allowed.binding == "month"
    planned = planner.plan([*small, big], allowed.rate)
    assert all(planned[d.key] == 900.0 for d in small)
    # 475,000 less 10 x 3 x 2,880 polls = 388,600 for the big one: 201 x 2,592,000 / 388,600
    assert planned["big"] == 1341.0


def test_a_spent_quota_stretches_every_watch_to_the_longest_interval() -> None:
    month = Period("month", 1_000, 1_000, *MONTH)
    allowed = planner.allowance([month], 0.05, NOW)
    assert allowed.rate == 0
    assert planner.plan([Demand("a", 2, 60.0)], allowed.rate) == {"a": LONGEST_INTERVAL}


def test_the_tighter_period_binds() -> None:
    month = Period("month", 10_000_000, 0, *MONTH)
    day = Period("day", 1_000, 0, *DAY)
    allowed = planner.allowance([month, day], 0.0, NOW)
    assert allowed.binding == "day"
    assert allowed.rate == pytest.approx(1_000 / (DAY[1] - NOW).total_seconds())


def test_months_and_days_are_utc_calendar_periods() -> None:
    late = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert month_of(late) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert day_of(late)[1] - day_of(late)[0] == timedelta(days=1)
