"""Scenario 4: what a quiet poll and an event cost on disk (in-process; sizes, not times)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from watcher.clock import FakeClock
from watcher.config import Config, parse
from watcher.http.retry import RetryPolicy
from watcher.runtime import Runtime
from watcher.sim.audius import AudiusSim
from watcher.store import Store


def _settled_size(path: Path) -> int:
    """Bytes in use once the write-ahead log is folded in (free pages not counted)."""
    store = Store.open(path)
    try:
        return store.used_bytes()
    finally:
        store.close()


def measure_growth(follows: int, quiet_polls: int) -> tuple[float, float, int]:
    """(KiB per quiet poll, KiB per event, events measured)."""
    sim = AudiusSim(seed=4, replicas=3, load_seed=False)
    artists = sim.add_users(follows * 2, prefix="artist", base_followers=lambda i: 5 * i + 1)
    star = sim.add_user(handle="star", name="Star")
    sim.follow_many(star, artists[:follows])
    with tempfile.TemporaryDirectory() as folder, sim.serve() as url:
        path = Path(folder) / "growth.db"
        config = parse(
            {
                "database": str(path),
                "defaults": {"jitter": 0},
                # Sizes are measured here, not the platform budget.
                "audius": {"base_url": url, "requests_per_second": 10_000},
                "watch": [{"platform": "audius", "account": "star"}],
            }
        )
        clock = FakeClock()

        def poll_times(n: int) -> int:
            return asyncio.run(_polls(config, path, clock, n))

        poll_times(3)  # baseline, then settle
        before = _settled_size(path)
        poll_times(quiet_polls)
        after_quiet = _settled_size(path)
        changes = follows // 2
        for artist in artists[:changes]:
            sim.unfollow(star, artist)
        sim.follow_many(star, artists[follows : follows + changes])
        events = poll_times(3)  # removals may wait one poll for confirmation
        after_events = _settled_size(path)
    per_poll = (after_quiet - before) / quiet_polls / 1024
    per_event = (after_events - after_quiet) / max(events, 1) / 1024
    return per_poll, per_event, events


async def _polls(config: Config, path: Path, clock: FakeClock, n: int) -> int:
    store = Store.open(path)
    engine = Runtime(config, store, clock=clock, retry=RetryPolicy.immediate(2))
    events = 0
    try:
        for _ in range(n):
            report = await engine.poll(config.watch[0])
            if not report.ok:
                raise RuntimeError(report.error)
            events += len(report.events)
            clock.advance(300)
    finally:
        await engine.aclose()
        store.close()
    return events
