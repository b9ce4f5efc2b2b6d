"""The per-platform request budget: a rate never exceeded, a concurrency cap, 429 pauses."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.world import SoundCloudWorld, VirtualTime, World
from watcher.clock import FakeClock
from watcher.http.budget import RequestBudget
from watcher.sim.soundcloud import SoundCloudSim


def most_in_any_window(starts: list[float], window: float) -> int:
    ordered = sorted(starts)
    return max(sum(1 for t in ordered if start <= t < start + window - 1e-9) for start in ordered)


def run_requests(
    budget: RequestBudget, clock: VirtualTime, n: int, hold: float = 0.0
) -> list[float]:
    starts: list[float] = []

    async def one() -> None:
        async with budget.slot():
            starts.append(clock.monotonic())
            if hold:
                await clock.sleep(hold)

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(n)))

    asyncio.run(main())
    return starts


def test_requests_never_exceed_the_rate_in_any_second() -> None:
    clock = VirtualTime()
    budget = RequestBudget(10, 100, monotonic=clock.monotonic, sleep=clock.sleep)
    starts = run_requests(budget, clock, 35)
    assert most_in_any_window(starts, 1.0) == 10
    assert starts[:10] == [0.0] * 10  # a quiet platform gets its first ten at once
    assert max(starts) == pytest.approx(3.0)  # and the rest at the pace it allows


def test_a_fractional_rate_spaces_requests_out() -> None:
    clock = VirtualTime()
    budget = RequestBudget(0.5, 4, monotonic=clock.monotonic, sleep=clock.sleep)
    starts = run_requests(budget, clock, 4)
    assert starts == pytest.approx([0.0, 2.0, 4.0, 6.0])


def test_no_more_than_the_concurrency_cap_are_in_flight() -> None:
    clock = VirtualTime()
    budget = RequestBudget(1000, 3, monotonic=clock.monotonic, sleep=clock.sleep)
    in_flight = 0
    most = 0

    async def one() -> None:
        nonlocal in_flight, most
        async with budget.slot():
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            in_flight -= 1

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(20)))

    asyncio.run(main())
    assert most == 3


def test_a_pause_holds_every_new_request_until_it_ends() -> None:
    budget = RequestBudget(1000, 10)
    order: list[str] = []

    async def request(name: str) -> None:
        async with budget.slot():
            order.append(name)

    async def main() -> None:
        release = asyncio.Event()

        async def back_off() -> None:
            async with budget.paused():
                order.append("pause")
                await release.wait()
                order.append("resume")

        pause = asyncio.create_task(back_off())
        await asyncio.sleep(0)
        waiting = [asyncio.create_task(request(f"r{i}")) for i in range(3)]
        for _ in range(5):  # plenty of turns for the requests, were they not held
            await asyncio.sleep(0)
        assert order == ["pause"]
        release.set()
        await asyncio.gather(pause, *waiting)

    asyncio.run(main())
    assert order[:2] == ["pause", "resume"] and sorted(order[2:]) == ["r0", "r1", "r2"]


def test_nonsense_budgets_are_refused() -> None:
    with pytest.raises(ValueError):
        RequestBudget(0, 1)
    with pytest.raises(ValueError):
        RequestBudget(1, 0)


# -- every watch of a platform shares one budget --------------------------------------------------


class CountingTransport(httpx.AsyncBaseTransport):
    """Records when each request leaves the client (virtual time) and how many overlap."""

    def __init__(self, clock: VirtualTime) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._clock = clock
        self.starts: list[float] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.starts.append(self._clock.monotonic())
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def sc(tmp_path: Path) -> Iterator[SoundCloudWorld]:
    sim = SoundCloudSim(seed=2)
    with sim.serve() as base_url:
        yield World(sim, base_url, tmp_path / "watcher.db", FakeClock())


def test_many_watches_of_one_platform_stay_within_its_budget(sc: SoundCloudWorld) -> None:
    """Eight watches polled at once: the token, profiles and pages all count."""
    from watcher.config import Config
    from watcher.http.retry import RetryPolicy
    from watcher.runtime import Runtime
    from watcher.store import Store

    clock = VirtualTime()
    for index in range(4):
        fans = sc.sim.add_users(450, prefix=f"fan{index}")
        star = sc.sim.add_user(f"star-{index}")
        sc.sim.add_followers(star, fans)
        sc.sim.follow_many(star, fans[:250])
        sc.watch(account=f"star-{index}", relation="followers")
        sc.watch(account=f"star-{index}", relation="following")
    sc.settings.update(requests_per_second=4, max_concurrent=2)
    config: Config = sc.config()
    transport = CountingTransport(clock)
    store = Store.open(config.database_path)
    factory = functools.partial(RequestBudget, monotonic=clock.monotonic, sleep=clock.sleep)

    async def go() -> None:
        engine = Runtime(
            config,
            store,
            clock=sc.clock,
            retry=RetryPolicy.immediate(2),
            transport=transport,
            budget_factory=factory,
        )
        try:
            reports = await engine.poll_all()
        finally:
            await engine.aclose()
        assert all(r.ok for r in reports), [r.error for r in reports]

    try:
        asyncio.run(go())
    finally:
        store.close()
    # 1 token + 8 resolves and 8 profiles + 4 baselines of two passes of (3 + 2) pages.
    assert len(transport.starts) == 1 + 16 + 40
    assert most_in_any_window(transport.starts, 1.0) == 4
    assert transport.most_in_flight <= 2
