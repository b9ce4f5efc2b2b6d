"""Several processes polling one database at once, each its own tastemaker, as `watcher once`
polls: when they all follow a new artist in the same moment, every follow is recorded once and
the signal once.

Real processes (spawned, so each has its own interpreter and SQLite connection) start each
round's poll together at a barrier, against the simulated Audius over loopback answering
slowly enough that their polls overlap; their transactions then commit one after another in
whatever order SQLite's write lock gives them. Whichever records the follow that reaches the
threshold records the signal with it; the others find it recorded.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from tests.world import run_polls
from watcher.config import parse
from watcher.sim.audius import AudiusSim
from watcher.store import Store

TASTEMAKERS = ("taste1", "taste2", "taste3")
ROUNDS = 4  # the baselines, then a new artist each round


def poll_rounds(raw: dict[str, Any], index: int, barrier: Barrier, results: Any) -> None:
    """A process's part: each round, wait for the others, poll watch `index`, report."""
    config = parse(raw)
    for _ in range(ROUNDS):
        barrier.wait(timeout=60)
        (report,) = run_polls(config, [index])
        results.put((index, report.ok, report.line(), [s.target.handle for s in report.signals]))
        barrier.wait(timeout=60)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[AudiusSim, list[str], dict[str, Any]]]:
    sim = AudiusSim(seed=9, replicas=1)
    users = [sim.add_user(handle, handle.title()) for handle in TASTEMAKERS]
    for user in users:
        sim.follow_many(user, sim.add_users(5, prefix=f"own{user}"))
    with sim.serve() as base_url:
        raw = {
            "database": str(tmp_path / "watcher.db"),
            "defaults": {"jitter": 0, "timeout": 10, "confirm_after": 0},
            "audius": {"base_url": base_url, "requests_per_month": 0},
            "watch": [{"platform": "audius", "account": handle} for handle in TASTEMAKERS],
            "signal": [{"name": "scouting", "type": "trending", "min_accounts": 2}],
        }
        sim.latency = 0.05  # a poll takes a few tenths of a second: the processes overlap
        yield sim, users, raw


def test_processes_polling_together_record_each_follow_and_the_signal_once(
    world: tuple[AudiusSim, list[str], dict[str, Any]],
) -> None:
    sim, users, raw = world
    artists = sim.add_users(ROUNDS - 1, prefix="newcomer")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(TASTEMAKERS) + 1)
    results = context.Queue()
    processes = [
        context.Process(target=poll_rounds, args=(raw, index, barrier, results))
        for index in range(len(TASTEMAKERS))
    ]
    for process in processes:
        process.start()
    reported: list[tuple[int, bool, str, list[str]]] = []
    try:
        for round_number in range(ROUNDS):
            if round_number:
                for user in users:
                    sim.follow(user, artists[round_number - 1])
            barrier.wait(timeout=60)  # go
            barrier.wait(timeout=60)  # every process has polled and reported
            reported += [results.get(timeout=10) for _ in TASTEMAKERS]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()

    assert all(ok for _, ok, _, _ in reported), [line for _, _, line, _ in reported]
    assert Counter(index for index, *_ in reported) == {0: ROUNDS, 1: ROUNDS, 2: ROUNDS}
    store = Store.open(raw["database"])
    try:
        events = store.events.find()
    finally:
        store.close()
    handles = [sim.user(artist).handle for artist in artists]
    follows = Counter(
        (e.account_handle, e.envelope()["data"]["target"]["handle"])
        for e in events
        if e.type == "following.added"
    )
    assert follows == Counter((who, artist) for who in TASTEMAKERS for artist in handles)
    signalled = [e.envelope()["data"] for e in events if e.type == "signal.trending"]
    assert sorted(data["target"]["handle"] for data in signalled) == handles  # once each
    assert all(len(data["accounts"]) == 2 for data in signalled)  # fired at the second
    fired = sorted(handle for *_, signals in reported for handle in signals)
    assert fired == handles  # each by the one process whose transaction recorded it
