"""Scenario 7: requests a quiet poll costs under each simulator adversity mode (in-process).

An account follows `follows` artists whose follower counts tie the way real ones do (a few
big accounts, then a long tail of equal small counts). One FakeClock drives both the engine
and the simulator: the baseline poll, then quiet polls `spacing` seconds apart, so absences
pending confirmation (`confirm_after`, 60 s by default) come due. Nothing changes between
polls except what the mode itself injects (`mid_read` changes the list as it is read).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watcher.clock import FakeClock
from watcher.config import Config, parse
from watcher.http.retry import RetryPolicy
from watcher.runtime import Runtime
from watcher.sim.adversity import MODES
from watcher.sim.audius import AudiusSim


@dataclass
class ModeCost:
    mode: str
    baseline_requests: int
    quiet_requests: list[int]  # one per quiet poll, as the simulator counted them
    failed: int  # quiet polls that failed
    events: int  # events the quiet polls emitted (only mid_read and mix should have any)

    @property
    def mean(self) -> float:
        return sum(self.quiet_requests) / len(self.quiet_requests)


def tied_followers(i: int) -> int:
    """Counts 50,000 // (i + 1): distinct at the top, long runs of ties below."""
    return 50_000 // (i + 1)


def measure_mode(
    mode: str,
    follows: int,
    quiet_polls: int,
    spacing: float = 120.0,
    followers: Callable[[int], int] = tied_followers,
) -> ModeCost:
    """The baseline poll, then `quiet_polls` quiet ones, `spacing` seconds apart."""
    clock = FakeClock()
    sim = AudiusSim(
        seed=7, replicas=3, load_seed=False, log_limit=1000, clock=lambda: clock.now().timestamp()
    )
    artists = sim.add_users(follows, prefix="artist", base_followers=followers)
    star = sim.add_user(handle="star", name="Star")
    sim.follow_many(star, artists)
    sim.adversity = MODES[mode]  # after building, as bench.sim_server does
    clock.advance(spacing)  # every replica has caught up, stale counts show the built world
    with tempfile.TemporaryDirectory() as folder, sim.serve() as url:
        path = Path(folder) / "modes.db"
        config = parse(
            {
                "database": str(path),
                "defaults": {"jitter": 0},  # confirm_after stays at its default
                "audius": {"base_url": url, "requests_per_second": 10_000},
                "watch": [{"platform": "audius", "account": "star"}],
            }
        )
        counts, failures, events = asyncio.run(
            _polls(config, path, sim, clock, spacing, quiet_polls)
        )
    return ModeCost(mode, counts[0], counts[1:], failures, events)


async def _polls(
    config: Config, path: Path, sim: AudiusSim, clock: FakeClock, spacing: float, quiet: int
) -> tuple[list[int], int, int]:
    from watcher.store import Store

    store = Store.open(path)
    engine = Runtime(config, store, clock=clock, retry=RetryPolicy.immediate(3))
    counts: list[int] = []
    failures = events = 0
    try:
        for n in range(quiet + 1):
            before = sim.request_count
            report = await engine.poll(config.watch[0])
            counts.append(sim.request_count - before)
            if not report.ok:
                if n == 0:
                    raise RuntimeError(f"the baseline poll failed: {report.error}")
                failures += 1
            elif n:
                events += len(report.events)
            clock.advance(spacing)
    finally:
        await engine.aclose()
        store.close()
    return counts, failures, events
