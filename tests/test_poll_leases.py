"""Poll leases: one poll of a watch at a time across processes, and no stale poll committing.

Two `Store` objects (two SQLite connections) on one file stand for two processes; a FakeClock
expires leases without sleeping. Holders on another host ("elsewhere") cannot be checked for
life, so only their lease's end frees the watch.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import store_reads
from tests.daemons import metric
from tests.world import World
from watcher import metrics
from watcher.clock import FakeClock, iso
from watcher.http.retry import RetryPolicy
from watcher.poll import PollReport
from watcher.poll_lease import LEASE_DURATION, LeaseHolder, PollLease
from watcher.runtime import Runtime
from watcher.sim.audius import AudiusSim
from watcher.sim.http import SimRequest
from watcher.store import LeaseCheck, PollOutcome, Store

LEASE = LEASE_DURATION.total_seconds()
HOST = socket.gethostname()
ELSEWHERE = LeaseHolder("elsewhere-process", 4121, "elsewhere")
# Another process of this host, alive (its pid is this test's).
SIBLING = LeaseHolder("sibling-process", os.getpid(), HOST)


def store_watch(store: Store, key: str = "audius:curator:following") -> int:
    return store.watches.ensure(key, "audius", "curator", "following", "2026-11-22T12:00:00Z").id


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[Store, Store, int]]:
    """Two processes' stores on one database file, and one watch in it."""
    first, second = Store.open(tmp_path / "w.db"), Store.open(tmp_path / "w.db")
    try:
        yield first, second, store_watch(first)
    finally:
        first.close()
        second.close()


def test_a_free_watch_is_claimed_and_refused_to_another_process_while_the_lease_runs(
    two: tuple[Store, Store, int],
) -> None:
    first, second, watch_id = two
    clock = FakeClock()
    mine = LeaseHolder("mine", os.getpid(), HOST)
    assert PollLease(first, watch_id, mine, clock).claim() is None
    held = first.leases.get(watch_id)
    assert held is not None and held.holder == "mine" and held.pid == os.getpid()
    assert held.until == iso(clock.now() + LEASE_DURATION)

    clock.advance(LEASE - 1)  # still running, however close to its end
    other = PollLease(second, watch_id, SIBLING, clock)
    assert other.claim() == f"being polled by pid {os.getpid()}"
    assert PollLease(second, watch_id, ELSEWHERE, clock).claim() == (
        f"being polled by pid {os.getpid()} on {HOST}"
    )
    assert first.leases.get(watch_id) == held  # the refusal changed nothing


def test_an_expired_lease_goes_to_the_next_claimant_and_its_old_holder_cannot_renew_it(
    two: tuple[Store, Store, int],
) -> None:
    first, second, watch_id = two
    clock = FakeClock()
    dead = PollLease(first, watch_id, ELSEWHERE, clock)
    assert dead.claim() is None
    clock.advance(LEASE + 1)
    mine = LeaseHolder("mine", os.getpid(), HOST)
    assert PollLease(second, watch_id, mine, clock).claim() is None
    held = second.leases.get(watch_id)
    assert held is not None and held.holder == "mine"
    dead.keep()  # a third of its lease is long past: it tries to renew, and finds it lost
    assert dead.lost
    assert second.leases.get(watch_id) == held
    assert dead.lost_reason() == f"lost its lease to pid {os.getpid()} on {HOST}"


def test_a_holder_claims_its_own_lease_again_and_renews_it_once_a_third_has_passed(
    two: tuple[Store, Store, int],
) -> None:
    first, _, watch_id = two
    clock = FakeClock()
    lease = PollLease(first, watch_id, ELSEWHERE, clock)
    assert lease.claim() is None
    first_until = iso(clock.now() + LEASE_DURATION)
    clock.advance(10)
    assert lease.claim() is None  # its own: granted, and extended
    claimed_until = iso(clock.now() + LEASE_DURATION)
    assert until(first, watch_id) == claimed_until != first_until

    clock.advance(LEASE / 3 - 1)
    lease.keep()  # not due: no write at all
    assert until(first, watch_id) == claimed_until
    clock.advance(2)
    lease.keep()
    assert until(first, watch_id) == iso(clock.now() + LEASE_DURATION)
    assert not lease.lost


def until(store: Store, watch_id: int) -> str:
    lease = store.leases.get(watch_id)
    assert lease is not None
    return lease.until


def test_only_its_holder_releases_a_lease(two: tuple[Store, Store, int]) -> None:
    first, second, watch_id = two
    clock = FakeClock()
    assert PollLease(first, watch_id, ELSEWHERE, clock).claim() is None
    second.leases.release(watch_id, "someone-else")
    assert first.leases.get(watch_id) is not None
    PollLease(first, watch_id, ELSEWHERE, clock).release()  # never claimed: releases nothing
    assert first.leases.get(watch_id) is not None
    first.leases.release(watch_id, ELSEWHERE.id)
    assert first.leases.get(watch_id) is None
    assert PollLease(second, watch_id, LeaseHolder("b", 1, "b"), clock).claim() is None


def test_a_record_from_a_stale_generation_or_a_lost_lease_commits_nothing(
    two: tuple[Store, Store, int],
) -> None:
    first, second, watch_id = two
    clock = FakeClock()
    poll = PollLease(first, watch_id, ELSEWHERE, clock)
    assert poll.claim() is None
    stale = poll.check
    assert stale.generation == first.leases.generation(watch_id) == 0
    # Another process records a poll meanwhile (a writer that took no lease, say).
    assert second.polls.record_failure(watch_id, "t0", "t1", 5, "boom")
    assert second.leases.generation(watch_id) == 1
    assert not first.polls.commit("audius", _outcome(watch_id, stale))
    assert not first.polls.record_failure(watch_id, "t0", "t1", 5, "late", lease=stale)
    assert first.events.count() == 0 and len(store_reads.polls(first, watch_id)) == 1
    assert first.leases.get(watch_id) is not None  # a refused record releases nothing

    fresh = LeaseCheck(ELSEWHERE.id, 1)
    assert first.polls.commit("audius", _outcome(watch_id, fresh))
    assert first.leases.generation(watch_id) == 2 and first.events.count() == 0
    assert first.leases.get(watch_id) is None  # the record released the lease
    assert not first.polls.commit("audius", _outcome(watch_id, LeaseCheck(ELSEWHERE.id, 2)))


def _outcome(watch_id: int, lease: LeaseCheck) -> PollOutcome:
    from watcher.platforms.base import Profile

    account = Profile("acc", "curator", "Curator", "https://audius.co/curator")
    return PollOutcome(watch_id, "t0", "t1", 5, account, baseline=True, lease=lease)


# -- polls --------------------------------------------------------------------------------


@dataclass
class LeaseWorld(World[AudiusSim]):
    """A world whose polls hold this test's lease, with connections of the test's own."""

    account_id: str = ""
    stores: list[Store] = field(default_factory=list)

    def poll(self, index: int = 0, *, account: str = "curator") -> PollReport:
        self.watches[:] = [{"platform": "audius", "account": account}]
        return super().poll(index)

    def store(self) -> Store:
        """A connection of the test's own (closed at the end of the test)."""
        store = Store.open(self.db_path)
        self.stores.append(store)
        return store


@pytest.fixture
def world(tmp_path: Path) -> Iterator[LeaseWorld]:
    sim = AudiusSim(seed=3, replicas=3)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    sim.follow_many(curator, sim.add_users(20, prefix="artist", base_followers=lambda i: i))
    with sim.serve() as base_url:
        world = LeaseWorld(sim, base_url, tmp_path / "watcher.db", account_id=curator, settle=0)
        world.defaults["confirm_after"] = 0
        world.engine["holder"] = LeaseHolder("this-test", os.getpid(), HOST)
        world.watch()
        try:
            yield world
        finally:
            for store in world.stores:
                store.close()


def claim_elsewhere(world: LeaseWorld, holder: LeaseHolder) -> str | None:
    """Another process claims the watch's lease, through a connection of its own opened in
    the calling thread (sim hooks run in the server's); returns what the claim said."""
    other = Store.open(world.db_path)
    try:
        return PollLease(other, store_watch(other), holder, world.clock).claim()
    finally:
        other.close()


def hold(world: LeaseWorld, holder: LeaseHolder) -> None:
    """Another process takes the watch's lease and keeps it (it may as well have died)."""
    assert claim_elsewhere(world, holder) is None


def test_a_skipped_poll_prints_one_line_and_records_no_poll_event_or_failure(
    world: LeaseWorld,
) -> None:
    assert world.poll().baseline
    world.sim.follow(world.account_id, world.sim.add_user(handle="newcomer", base_followers=50))
    counters = metrics.reset()
    hold(world, SIBLING)
    store = world.store()
    before = store.watches.all()[0]

    report = world.poll()
    assert report.ok and report.outcome == "skipped" and report.events == []
    assert report.line() == f"skipped audius curator following: being polled by pid {os.getpid()}"
    assert report.fields()["outcome"] == "skipped"
    assert store.watches.all()[0] == before  # status unaffected: no poll, no failure recorded
    assert len(store_reads.polls(store, before.id)) == 1 and store.events.count() == 0
    text = counters.exposition().decode()
    assert metric(text, "watcher_polls_total", platform="audius", outcome="skipped") == 1
    assert metric(text, "watcher_polls_total", platform="audius", outcome="error") is None


def test_a_watch_leased_on_another_host_names_that_host(world: LeaseWorld) -> None:
    hold(world, ELSEWHERE)
    report = world.poll()
    assert (
        report.line() == "skipped audius curator following: being polled by pid 4121 on elsewhere"
    )


def test_a_dead_holders_lease_expires_and_the_next_poll_proceeds(world: LeaseWorld) -> None:
    hold(world, ELSEWHERE)  # began a poll, then died without a word
    assert world.poll().skipped
    world.clock.advance(LEASE - 1)
    assert world.poll().skipped
    world.clock.advance(2)
    report = world.poll()
    assert report.ok and report.skipped is None and report.baseline and report.size == 20
    store = world.store()
    assert store.leases.get(store.watches.all()[0].id) is None


def test_a_lease_left_by_a_gone_process_of_this_host_is_taken_over_at_once(
    world: LeaseWorld,
) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    hold(world, LeaseHolder("killed-mid-poll", int(gone.stdout), HOST))
    report = world.poll()
    assert report.ok and report.skipped is None and report.baseline


def test_a_long_poll_keeps_its_lease_by_renewing_it_as_pages_come(world: LeaseWorld) -> None:
    world.settings["page_size"] = 2  # 10 pages a pass; the baseline reads the list at least twice
    refusals: list[str | None] = []

    def slow_page(request: SimRequest) -> None:
        if "/following" in request.path:
            world.clock.advance(60)  # each page takes a minute of the poll's time
            refusals.append(claim_elsewhere(world, SIBLING))

    world.sim.on_request(slow_page)
    report = world.poll()
    assert report.ok and report.baseline and report.pages >= 20
    assert report.pages * 60 > 3 * LEASE  # far longer than one lease
    assert refusals and set(refusals) == {f"being polled by pid {os.getpid()}"}
    store = world.store()
    assert store.leases.get(store.watches.all()[0].id) is None  # released with the record


def test_a_poll_that_loses_its_lease_mid_poll_commits_nothing(world: LeaseWorld) -> None:
    assert world.poll().baseline
    world.sim.unfollow(world.account_id, world.sim.following(world.account_id)[0])
    world.sim.follow(world.account_id, world.sim.add_user(handle="newcomer", base_followers=50))
    world.clock.advance(300)
    stolen = threading.Event()

    def stall_then_lose_the_lease(request: SimRequest) -> None:
        if "/following" in request.path and not stolen.is_set():
            world.clock.advance(LEASE + 60)  # this page took longer than the whole lease
            assert claim_elsewhere(world, ELSEWHERE) is None  # so another process took it
            stolen.set()

    world.sim.on_request(stall_then_lose_the_lease)
    report = world.poll()
    assert stolen.is_set() and report.ok and report.events == []
    assert report.line() == (
        "skipped audius curator following: lost its lease to pid 4121 on elsewhere"
    )
    store = world.store()
    watch = store.watches.all()[0]
    assert store.events.count() == 0 and len(store_reads.polls(store, watch.id)) == 1
    assert store.leases.generation(watch.id) == 1  # the baseline's record only
    # The other process gives the watch back (or dies and its lease ends); the changes are
    # then found once each, as if the lost poll had never run.
    store.leases.release(watch.id, ELSEWHERE.id)
    world.sim.remove_hook(stall_then_lose_the_lease)
    world.clock.advance(300)
    first = world.poll()
    world.clock.advance(300)
    second = world.poll()
    assert sorted(e.type for e in first.events + second.events) == [
        "following.added",
        "following.removed",
    ]


def test_a_failed_poll_is_recorded_and_releases_its_lease(world: LeaseWorld) -> None:
    report = world.poll(account="nobody-at-all")
    assert not report.ok and report.outcome == "error"
    store = world.store()
    watch = store.watches.all()[0]
    assert store.leases.get(watch.id) is None and watch.consecutive_failures == 1
    assert store.leases.generation(watch.id) == 1  # a failure is a recorded poll too


def test_a_cancelled_poll_releases_its_lease(world: LeaseWorld) -> None:
    reached, go_on = threading.Event(), threading.Event()

    def hold_the_page(request: SimRequest) -> None:
        if "/following" in request.path:
            reached.set()
            go_on.wait(10)

    world.sim.on_request(hold_the_page)
    config = world.config()
    store = world.store()

    async def go() -> None:
        engine = Runtime(config, store, clock=world.clock, retry=RetryPolicy.immediate(2))
        try:
            task = asyncio.create_task(engine.poll(config.watch[0]))
            assert await asyncio.to_thread(reached.wait, 10)
            lease = store.leases.get(store.watches.all()[0].id)
            assert lease is not None and lease.holder == engine.holder.id
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            go_on.set()
            await engine.aclose()

    asyncio.run(go())
    watch = store.watches.all()[0]
    assert store.leases.get(watch.id) is None
    assert store_reads.polls(store, watch.id) == [] and store.leases.generation(watch.id) == 0
