"""`watcher demo`: the real pipeline against the simulated APIs (Audius and SoundCloud), with
live churn, no network."""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from watcher.config import Config, parse
from watcher.http.retry import RetryPolicy
from watcher.poll import PollReport
from watcher.runtime import Runtime
from watcher.sim.audius import AudiusSim
from watcher.sim.soundcloud import SoundCloudSim
from watcher.store import Store

Echo = Callable[[str], None]


def _build_world(sim: AudiusSim, rng: random.Random) -> tuple[str, str, list[str]]:
    """A curator following 60 artists whose follower counts tie a lot, and a rising artist."""
    artists = sim.add_users(120, prefix="artist", base_followers=lambda i: i % 4)
    curator = sim.add_user(handle="tastemaker", name="The Tastemaker", base_followers=5000)
    rising = sim.add_user(handle="rising-star", name="Rising Star", base_followers=0)
    sim.follow_many(curator, rng.sample(artists, 60))
    sim.add_followers(rising, rng.sample(artists, 30))
    return curator, rising, artists


def _churn(sim: AudiusSim, rng: random.Random, curator: str, rising: str, pool: list[str]) -> str:
    """One random change to the world; returns what happened, for the narration."""
    following = sim.following(curator)
    choice = rng.random()
    if choice < 0.35:
        new = rng.choice([a for a in pool if a not in following])
        sim.follow(curator, new)
        return f"tastemaker follows {sim.user(new).handle}"
    if choice < 0.6 and following:
        gone = rng.choice(following)
        sim.unfollow(curator, gone)
        return f"tastemaker unfollows {sim.user(gone).handle}"
    if choice < 0.7 and following:
        quiet = rng.choice(following)
        sim.deactivate(quiet)
        return f"{sim.user(quiet).handle} deactivates (not an unfollow: no event expected)"
    if choice < 0.85:
        fan = rng.choice([a for a in pool if a not in sim.followers(rising)])
        sim.follow(fan, rising)
        return f"{sim.user(fan).handle} follows rising-star"
    return "nothing changes (replicas still disagree on tie order: no event expected)"


def _build_soundcloud(sim: SoundCloudSim, rng: random.Random) -> tuple[str, list[str]]:
    """A DJ following 50 producers on SoundCloud, and a pool of others to follow."""
    producers = sim.add_users(90, prefix="producer")
    dj = sim.add_user("night-shift-dj", "Night Shift DJ")
    sim.follow_many(dj, rng.sample(producers, 50))
    return dj, producers


def _churn_soundcloud(sim: SoundCloudSim, rng: random.Random, dj: str, pool: list[str]) -> str:
    following = sim.following(dj)
    if rng.random() < 0.5 or not following:
        new = rng.choice([p for p in pool if p not in following])
        sim.follow(dj, new)
        return f"night-shift-dj follows {sim.user(new).permalink}"
    gone = rng.choice(following)
    sim.unfollow(dj, gone)
    return f"night-shift-dj unfollows {sim.user(gone).permalink}"


def _demo_config(audius_url: str, soundcloud: SoundCloudSim, database: Path) -> Config:
    return parse(
        {
            "database": str(database),
            # The simulated replicas here never lag, so an absence need not wait a minute to
            # be believed: an unfollow shows in the round after it (pending, then confirmed).
            "defaults": {"interval": "1m", "jitter": "0s", "timeout": "10s", "confirm_after": 0},
            "audius": {"base_url": audius_url},
            "soundcloud": {
                "base_url": soundcloud.base_url,
                "token_url": soundcloud.token_url,
                "client_id": soundcloud.tokens.client_id,
                "client_secret": soundcloud.tokens.client_secret,
            },
            "watch": [
                {"platform": "audius", "account": "tastemaker", "relation": "following"},
                {"platform": "audius", "account": "rising-star", "relation": "followers"},
                {
                    "platform": "soundcloud",
                    "account": "night-shift-dj",
                    "relation": "following",
                },
            ],
        },
        source="<demo>",
    )


def _narrate(echo: Echo, report: PollReport) -> None:
    echo("  " + report.line())
    for event in report.events:
        target = event.target
        echo(f"    EVENT {event.type}: @{event.account.handle} / {target.name} (@{target.handle})")


async def _run(rounds: int | None, pause: float, seed: int, echo: Echo) -> None:
    rng = random.Random(seed)
    sim = AudiusSim(seed=seed, replicas=3)
    curator, rising, pool = _build_world(sim, rng)
    cloud = SoundCloudSim(seed=seed)
    dj, producers = _build_soundcloud(cloud, rng)
    with tempfile.TemporaryDirectory() as folder, sim.serve() as base_url, cloud.serve():
        config = _demo_config(base_url, cloud, Path(folder) / "demo.db")
        store = Store.open(config.database_path)
        engine = Runtime(config, store, retry=RetryPolicy.immediate())
        try:
            echo(f"simulated Audius at {base_url} (3 replicas, tie order differs per replica)")
            echo(f"simulated SoundCloud at {cloud.base_url} (OAuth tokens, cursor paging)")
            echo("round 0: first polls set the baseline; no events")
            for report in await engine.poll_all():
                _narrate(echo, report)
            number = 0
            while rounds is None or number < rounds:
                number += 1
                await asyncio.sleep(pause)
                echo(f"round {number}: {_churn(sim, rng, curator, rising, pool)}")
                echo(f"  and on SoundCloud: {_churn_soundcloud(cloud, rng, dj, producers)}")
                for report in await engine.poll_all():
                    _narrate(echo, report)
            echo(
                f"done: {store.events.count()} event(s) recorded;"
                f" {cloud.token_requests} SoundCloud token request(s) in all"
            )
        finally:
            await engine.aclose()
            store.close()


def run_demo(*, rounds: int | None, pause: float, seed: int | None, echo: Echo) -> None:
    try:
        asyncio.run(
            _run(rounds, pause, seed if seed is not None else random.randrange(1 << 30), echo)
        )
    except KeyboardInterrupt:
        echo("demo stopped")
