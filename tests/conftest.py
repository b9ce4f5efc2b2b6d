from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.daemons import Running
from tests.services import Services, standing_in
from tests.world import AudiusWorld, SoundCloudWorld, World
from watcher.sim.audius import AudiusSim
from watcher.sim.soundcloud import SoundCloudSim


@pytest.fixture
def sim() -> AudiusSim:
    return AudiusSim(seed=11, replicas=3)


@pytest.fixture(params=["in-memory", "in-table"])
def harness(
    sim: AudiusSim, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[AudiusWorld]:
    """A world on Audius, twice: listings held in a dict, and in a scratch table (the path
    lists past 50,000 entries take)."""
    with sim.serve() as base_url:
        world = World(sim, base_url, tmp_path / "watcher.db")
        world.engine["members_in_memory"] = 50_000 if request.param == "in-memory" else 0
        yield world


@pytest.fixture
def audius(sim: AudiusSim, tmp_path: Path) -> Iterator[AudiusWorld]:
    """A world on Audius, once: for tests that do not depend on where listings are held
    (those that run processes, say)."""
    with sim.serve() as base_url:
        yield World(sim, base_url, tmp_path / "watcher.db")


@pytest.fixture
def curator_url() -> Iterator[str]:
    """A simulated Audius, served, in which `curator` follows 30 artists (one page): for the
    tests that run the `watcher` command against it."""
    sim = AudiusSim(seed=7, replicas=1)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    sim.follow_many(curator, sim.add_users(30, prefix="artist"))
    with sim.serve() as url:
        yield url


@pytest.fixture
def sc(tmp_path: Path) -> Iterator[SoundCloudWorld]:
    """A world on SoundCloud."""
    sim = SoundCloudSim(seed=5)
    with sim.serve() as base_url:
        yield World(sim, base_url, tmp_path / "watcher.db")


@pytest.fixture(params=["audius", "soundcloud"])
def either(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[AudiusWorld | SoundCloudWorld]:
    """A world on each platform in turn: for the promises both keep alike (the `harness`
    tests cover both places a listing is held)."""
    if request.param.startswith("audius"):
        audius = AudiusSim(seed=11, replicas=3)
        with audius.serve() as base_url:
            yield World(audius, base_url, tmp_path / "watcher.db")
    else:
        soundcloud = SoundCloudSim(seed=5)
        with soundcloud.serve() as base_url:
            yield World(soundcloud, base_url, tmp_path / "watcher.db")


@pytest.fixture
def outbox(sim: AudiusSim, tmp_path: Path) -> Iterator[AudiusWorld]:
    """A world on Audius for delivery tests: the clock at the real now, standing still."""
    with sim.serve() as base_url:
        yield World.for_deliveries(sim, base_url, tmp_path / "watcher.db")


@pytest.fixture
def running() -> Iterator[Callable[..., Running]]:
    """Starts `watcher run` (or `serve`) processes; each is killed at the end of the test."""
    started: list[Running] = []

    def start(config: Path, *extra: str, command: str = "run") -> Running:
        process = Running(config, *extra, command=command)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """Discord, Slack, Telegram and email on loopback (tests/services.py): HTTPS requests go
    through an intercepting receiver named as this process's proxy, mail to a local server."""
    with standing_in(monkeypatch) as stand_ins:
        yield stand_ins
