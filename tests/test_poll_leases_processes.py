"""Several `watcher once` processes at once on one database: every change recorded once.

Real processes, started together, against the simulated Audius over loopback; the simulator
answers slowly enough that their polls overlap. Between rounds the follow graph changes, and
in the end the events in the database are exactly the changes made, each under one id.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import store_reads
from tests.world import config_file
from watcher.clock import SystemClock
from watcher.poll_lease import LeaseHolder, PollLease
from watcher.sim.audius import AudiusSim
from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 3
WHO = "audius curator following"
SKIP = re.compile(rf"^skipped {WHO}: being polled by pid (\d+)$")


@dataclass(frozen=True)
class Run:
    pid: int
    returncode: int
    stdout: str
    stderr: str


def write_config(folder: Path, base_url: str) -> Path:
    return config_file(
        folder,
        base_url,
        defaults={"jitter": "0s", "timeout": "10s", "confirm_after": "0s"},
        audius={"page_size": 5},
    )


def once_together(config: Path, count: int = PROCESSES) -> list[Run]:
    """Start `count` `watcher once` processes at once and wait for all of them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "watcher", "once", "--config", str(config)]
    started = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    runs = []
    for process in started:
        stdout, stderr = process.communicate(timeout=60)
        runs.append(Run(process.pid, process.returncode, stdout, stderr))
    return runs


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[AudiusSim, str, Path]]:
    sim = AudiusSim(seed=8, replicas=3)
    # Counts far apart: no ties, so every poll is one clean pass and its timing predictable.
    artists = sim.add_users(20, prefix="artist", base_followers=lambda i: 10 * i + 5)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    sim.follow_many(curator, artists)
    with sim.serve() as base_url:
        sim.latency = 0.1  # a poll takes about a second: processes started together overlap
        yield sim, curator, write_config(tmp_path, base_url)


def test_processes_polling_together_record_each_change_exactly_once(
    world: tuple[AudiusSim, str, Path],
) -> None:
    sim, curator, config = world
    newcomers = sim.add_users(3, prefix="newcomer", base_followers=lambda i: 1000 + 10 * i)
    handles = {user: sim.user(user).handle for user in sim.following(curator) + newcomers}
    first, second, third = sim.following(curator)[:3]
    rounds: list[tuple[list[str], list[str]]] = [  # (followed, unfollowed) before each round
        ([], []),  # the baseline
        ([newcomers[0], newcomers[1]], [first, second]),
        ([newcomers[2]], [third, newcomers[0]]),
        ([], []),  # an unfollow is confirmed a poll after the one that first misses it
    ]
    made: list[tuple[str, str]] = []
    skips = 0
    printed: list[str] = []
    for followed, unfollowed in rounds:
        for user in followed:
            sim.follow(curator, user)
            made.append(("following.added", handles[user]))
        for user in unfollowed:
            sim.unfollow(curator, user)
            made.append(("following.removed", handles[user]))
        runs = once_together(config)
        pids = {run.pid for run in runs}
        for run in runs:
            assert run.returncode == 0, run.stderr
            assert "Traceback" not in run.stderr
            lines = run.stdout.splitlines()
            assert lines and lines[0].startswith((f"ok {WHO}:", f"skipped {WHO}:")), run.stdout
            skipped = SKIP.match(lines[0])
            if skipped:  # the one line, naming another of this round's processes
                assert lines == [lines[0]]
                assert int(skipped[1]) in pids - {run.pid}
                skips += 1
            printed += [line.split(" (@")[-1] for line in lines[1:]]

    store = Store.open(config.parent / "watcher.db")
    try:
        events = store.events.find()
    finally:
        store.close()
    recorded = [(e.type, e.envelope()["data"]["target"]["handle"]) for e in events]
    assert Counter(recorded) == Counter(made)  # every change, each exactly once
    assert len({e.id for e in events}) == len(made) == 7
    assert len(printed) == len(made)  # and each printed by the one process that found it
    assert skips > 0  # the polls did overlap


def test_once_beside_a_poll_in_progress_skips_it_with_one_line_and_exits_0(
    world: tuple[AudiusSim, str, Path],
) -> None:
    _, _, config = world
    store = Store.open(config.parent / "watcher.db")
    try:
        watch_id = store.watches.ensure(
            "audius:curator:following", "audius", "curator", "following", "2026-11-22T12:00:00Z"
        ).id
        daemon = LeaseHolder("a-daemon", os.getpid(), socket.gethostname())  # alive: us
        assert PollLease(store, watch_id, daemon, SystemClock()).claim() is None

        (run,) = once_together(config, 1)
        assert run.returncode == 0, run.stderr
        assert run.stdout == f"skipped {WHO}: being polled by pid {os.getpid()}\n"
        assert (
            store_reads.polls(store, watch_id) == [] and store.watches.all()[0].last_poll_at is None
        )
    finally:
        store.close()
