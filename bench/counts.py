"""Scenario 9: what `check = "counts"` saves on quiet polls, and what it delays (in-process).

An account follows `follows` artists with distinct follower counts (7i + 3: the honest floor,
where the profile's count says when a pass may stop). One FakeClock drives the engine and the
simulator, polls `spacing` seconds apart (past `confirm_after`). Two measures:

* requests per quiet poll over `polls` polls after the baseline, as the simulator counted
  them, with `check = "full"` and with `check = "counts"`;
* polls until a follow plus an unfollow made inside one interval (the count does not move)
  are reported, counted from the first poll after them, as test_snapshot_truth.py counts. The
  pair is made once at each position of the `full_every` cycle, so the worst case is among them.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from watcher.clock import FakeClock
from watcher.config import Config, parse
from watcher.http.retry import RetryPolicy
from watcher.runtime import Runtime
from watcher.sim.audius import AudiusSim
from watcher.store import Store

# Polls after which a pair still unreported counts as lost (a bug, not a figure).
GIVE_UP = 50


@dataclass
class PairDelay:
    """Polls until each half of one follow-plus-unfollow pair was reported."""

    phase: int  # quiet polls since the last list read when the pair was made
    follow: int
    unfollow: int


@dataclass
class CheckCost:
    check: str
    quiet_requests: list[int]  # one per quiet poll
    pairs: list[PairDelay] = field(default_factory=list)
    false_events: int = 0  # events of accounts the pairs did not change

    @property
    def mean(self) -> float:
        return sum(self.quiet_requests) / len(self.quiet_requests)


def measure_check(
    check: str, follows: int, polls: int, full_every: int = 4, spacing: float = 120.0
) -> CheckCost:
    """The baseline, `polls` quiet polls, then one pair per phase of the full_every cycle."""
    clock = FakeClock()
    sim = AudiusSim(
        seed=7, replicas=3, load_seed=False, log_limit=1000, clock=lambda: clock.now().timestamp()
    )
    artists = sim.add_users(follows, prefix="artist", base_followers=lambda i: 7 * i + 3)
    star = sim.add_user(handle="star", name="Star")
    sim.follow_many(star, artists)
    clock.advance(spacing)
    with tempfile.TemporaryDirectory() as folder, sim.serve() as url:
        path = Path(folder) / "counts.db"
        config = parse(
            {
                "database": str(path),
                "defaults": {"jitter": 0, "check": check, "full_every": full_every},
                "audius": {"base_url": url, "requests_per_second": 10_000},
                "watch": [{"platform": "audius", "account": "star"}],
            }
        )
        return asyncio.run(_run(config, path, _World(sim, clock, spacing, star), polls, artists))


@dataclass
class _World:
    sim: AudiusSim
    clock: FakeClock
    spacing: float
    star: str


async def _run(
    config: Config, path: Path, world: _World, polls: int, artists: list[str]
) -> CheckCost:
    store = Store.open(path)
    engine = Runtime(config, store, clock=world.clock, retry=RetryPolicy.immediate(3))
    try:
        check, full_every = config.check_of(config.watch[0])
        return await _Bench(config, engine, world).run(check, polls, full_every, artists)
    finally:
        await engine.aclose()
        store.close()


@dataclass
class _Bench:
    config: Config
    engine: Runtime
    world: _World

    async def run(self, check: str, polls: int, full_every: int, artists: list[str]) -> CheckCost:
        await self.poll()  # the baseline
        cost = CheckCost(check, [])
        for _ in range(polls):
            requests, events, _ = await self.poll()
            cost.quiet_requests.append(requests)
            cost.false_events += len(events)
        while (await self.poll())[2]:  # each pair's cycle starts after a list read
            pass
        sim, star = self.world.sim, self.world.star
        for phase in range(full_every):
            for _ in range(phase):
                await self.poll()
            gone, newcomer = artists[phase], sim.add_user(f"newcomer-{phase}")
            sim.unfollow(star, gone)
            sim.follow(star, newcomer)
            cost.pairs.append(await self.pair(phase, newcomer, gone, cost))
        return cost

    async def pair(self, phase: int, newcomer: str, gone: str, cost: CheckCost) -> PairDelay:
        """Poll until both halves of the pair are reported; any other event is false."""
        seen: dict[str, int] = {}
        for number in range(1, GIVE_UP + 1):
            _, events, _ = await self.poll()
            for kind, target in events:
                if (kind, target) in (("following.added", newcomer), ("following.removed", gone)):
                    seen.setdefault(kind, number)
                else:
                    cost.false_events += 1
            if len(seen) == 2:
                return PairDelay(phase, seen["following.added"], seen["following.removed"])
        raise RuntimeError(f"a follow-plus-unfollow was not reported within {GIVE_UP} polls")

    async def poll(self) -> tuple[int, list[tuple[str, str]], bool]:
        """One poll: (requests it cost, its events as (type, target id), whether it read only
        the profile); a failed poll is a broken benchmark."""
        sim = self.world.sim
        before = sim.request_count
        report = await self.engine.poll(self.config.watch[0])
        self.world.clock.advance(self.world.spacing)
        if not report.ok:
            raise RuntimeError(f"a poll failed: {report.error}")
        events = [(e.type, e.target.id) for e in report.events]
        return sim.request_count - before, events, report.counts_only
