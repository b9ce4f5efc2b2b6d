"""The trending signal's counting, driven through real polls of the simulator: watched
tastemakers follow the same artists, the clock moves on the injected clock, and what the
signal records is read back from the event log.

The world: `tastemakers(world, n)` watches `taste1..n` with their baselines taken; the clock
stands still during a round of polls (every follow of a round is stamped alike) and moves only
when a test moves it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from tests.world import AudiusWorld, SoundCloudWorld, tastemakers
from watcher.clock import iso
from watcher.runtime import Runtime

HOUR = 3600.0


@dataclass(frozen=True)
class Recorded:
    target: str  # handle
    accounts: list[str]  # handles, earliest first
    followed_at: list[str]
    timestamp: str
    window_s: float


def signals(world: AudiusWorld | SoundCloudWorld) -> list[Recorded]:
    store = world.store()
    try:
        rows = store.events.find(type_prefix="signal")
    finally:
        store.close()
    found = []
    for row in rows:
        data = row.envelope()["data"]
        found.append(
            Recorded(
                data["target"]["handle"],
                [a["handle"] for a in data["accounts"]],
                [a["followed_at"] for a in data["accounts"]],
                row.timestamp,
                data["window_s"],
            )
        )
    return found


def round_of(world: AudiusWorld | SoundCloudWorld, *moves: tuple[str, str, bool]) -> str:
    """Make each (user, target, follow?) move, poll every watch, and return the poll's time;
    the clock does not move."""
    for user, target, follow in moves:
        (world.sim.follow if follow else world.sim.unfollow)(user, target)
    at = iso(world.clock.now())
    reports = world.poll_all()
    assert all(report.ok for report in reports), [r.line() for r in reports]
    return at


def follows(world: AudiusWorld | SoundCloudWorld, target: str, *users: str) -> str:
    return round_of(world, *((user, target, True) for user in users))


def unfollow(world: AudiusWorld | SoundCloudWorld, user: str, target: str) -> None:
    """An unfollow, recorded: the first poll misses it, the next one (past `confirm_after`)
    confirms it."""
    round_of(world, (user, target, False))
    world.clock.advance(120)
    round_of(world)


@pytest.fixture
def world(audius: AudiusWorld) -> AudiusWorld:
    audius.settle = 0.0  # the tests move the clock themselves
    return audius


def test_a_target_signals_when_the_third_watched_account_follows_it(world: AudiusWorld) -> None:
    world.signal("scouting", min_accounts=3, window="7d")
    a, b, c = tastemakers(world, 3)
    (artist,) = world.sim.add_users(1, prefix="newcomer")
    handle = world.handle(artist)

    first = follows(world, artist, a)
    world.clock.advance(HOUR)
    second = follows(world, artist, b)
    world.clock.advance(HOUR)
    assert signals(world) == []  # two of three
    third = follows(world, artist, c)

    assert signals(world) == [
        Recorded(handle, ["taste1", "taste2", "taste3"], [first, second, third], third, 604800)
    ]


def test_follows_in_one_poll_round_reach_the_threshold_together(world: AudiusWorld) -> None:
    world.signal("scouting", min_accounts=2)
    a, b, _ = tastemakers(world, 3)
    (artist,) = world.sim.add_users(1, prefix="newcomer")

    at = follows(world, artist, a, b)

    [signal] = signals(world)
    assert sorted(signal.accounts) == ["taste1", "taste2"] and signal.timestamp == at


def test_a_follow_just_inside_the_window_counts_and_one_a_window_old_does_not(
    world: AudiusWorld,
) -> None:
    world.signal("scouting", min_accounts=2, window="1h")
    a, b = tastemakers(world, 2)
    inside, outside = world.sim.add_users(2, prefix="newcomer")

    follows(world, inside, a)
    world.clock.advance(HOUR - 1)
    follows(world, inside, b)
    assert [s.target for s in signals(world)] == [world.handle(inside)]

    follows(world, outside, a)
    world.clock.advance(HOUR)
    follows(world, outside, b)
    assert [s.target for s in signals(world)] == [world.handle(inside)]  # none for `outside`


def test_an_unfollow_inside_the_window_takes_the_account_out_of_the_count(
    world: AudiusWorld,
) -> None:
    world.signal("scouting", min_accounts=2)
    a, b, c = tastemakers(world, 3)
    (artist,) = world.sim.add_users(1, prefix="newcomer")

    follows(world, artist, a)
    unfollow(world, a, artist)
    follows(world, artist, b)
    assert signals(world) == []  # a is out: only b counts

    follows(world, artist, c)
    [signal] = signals(world)
    assert signal.accounts == ["taste2", "taste3"]


def test_an_account_that_follows_twice_counts_once(world: AudiusWorld) -> None:
    world.signal("scouting", min_accounts=2)
    a, b = tastemakers(world, 2)
    (artist,) = world.sim.add_users(1, prefix="newcomer")

    follows(world, artist, a)
    unfollow(world, a, artist)
    again = follows(world, artist, a)
    assert signals(world) == []

    follows(world, artist, b)
    [signal] = signals(world)
    assert signal.accounts == ["taste1", "taste2"]
    assert signal.followed_at[0] == again  # the follow that counts is the latest


def test_a_target_signals_once_while_it_stays_over_the_threshold(world: AudiusWorld) -> None:
    world.signal("scouting", min_accounts=2, window="1h")
    a, b, c, d = tastemakers(world, 4)
    (artist,) = world.sim.add_users(1, prefix="newcomer")

    follows(world, artist, a, b)
    world.clock.advance(40 * 60)
    follows(world, artist, c)  # three now
    world.clock.advance(40 * 60)
    follows(world, artist, d)  # a and b have aged out; c and d keep it at two

    assert len(signals(world)) == 1


def test_a_target_signals_again_only_after_a_whole_window_under_the_threshold(
    world: AudiusWorld,
) -> None:
    world.signal("scouting", min_accounts=2, window="1h")
    a, b, c, d = tastemakers(world, 4)
    (artist,) = world.sim.add_users(1, prefix="newcomer")

    start = follows(world, artist, a, b)  # signals; under the threshold again an hour later
    world.clock.advance(HOUR + 30 * 60)
    unfollow(world, a, artist)
    unfollow(world, b, artist)
    follows(world, artist, c, d)  # over again after only half an hour under it
    assert [s.timestamp for s in signals(world)] == [start]

    world.clock.advance(HOUR + 30 * 60)  # c and d age out...
    world.clock.advance(HOUR)  # ...and an hour passes under the threshold
    again = follows(world, artist, a, b)

    assert [s.timestamp for s in signals(world)] == [start, again]
    assert sorted(signals(world)[1].accounts) == ["taste1", "taste2"]


def test_a_signal_counts_only_the_watches_it_names(world: AudiusWorld) -> None:
    world.signal("pair", min_accounts=2, watches=["taste1", "https://audius.co/taste3"])
    a, b, c = tastemakers(world, 3)
    first, second = world.sim.add_users(2, prefix="newcomer")

    follows(world, first, a, b)  # b is not counted
    follows(world, second, a, c)

    assert [s.target for s in signals(world)] == [world.handle(second)]


def test_a_signals_target_filter_keeps_targets_out_of_it(world: AudiusWorld) -> None:
    world.signal("small", min_accounts=2, max_target_followers=100)
    a, b = tastemakers(world, 2)
    (small,) = world.sim.add_users(1, prefix="small", base_followers=40)
    (big,) = world.sim.add_users(1, prefix="big", base_followers=100_000)

    follows(world, small, a, b)
    follows(world, big, a, b)

    assert [s.target for s in signals(world)] == [world.handle(small)]


def test_two_signals_fire_each_on_their_own(world: AudiusWorld) -> None:
    world.signal("pairs", min_accounts=2)
    world.signal("trios", min_accounts=3)
    a, b, c = tastemakers(world, 3)
    (artist,) = world.sim.add_users(1, prefix="newcomer")

    follows(world, artist, a, b)
    follows(world, artist, c)

    store = world.store()
    try:
        names = [
            row.envelope()["data"]["signal"] for row in store.events.find(type_prefix="signal")
        ]
    finally:
        store.close()
    assert names == ["pairs", "trios"]


def test_signals_count_on_each_platform(either: AudiusWorld | SoundCloudWorld) -> None:
    either.settle = 0.0
    either.signal("scouting", min_accounts=2)
    a, b = tastemakers(either, 2)
    (artist,) = either.sim.add_users(1, prefix="newcomer")

    follows(either, artist, a, b)

    [signal] = signals(either)
    assert signal.target == either.handle(artist)
    assert sorted(signal.accounts) == sorted(either.handle(user) for user in (a, b))


def test_the_quiet_window_before_a_new_signal_is_a_whole_window_to_the_second(
    world: AudiusWorld,
) -> None:
    world.signal("scouting", min_accounts=2, window="1h")
    a, b, c, d = tastemakers(world, 4)
    early, exact = world.sim.add_users(2, prefix="newcomer")

    first = follows(world, early, a, b)
    follows(world, exact, a, b)  # both signal, and fall under the threshold an hour later
    world.clock.advance(2 * HOUR - 1)  # under it for an hour less a second
    follows(world, early, c, d)
    world.clock.advance(1)  # under it for a whole hour
    again = follows(world, exact, c, d)

    assert [(s.target, s.timestamp) for s in signals(world)] == [
        (world.handle(early), first),
        (world.handle(exact), first),
        (world.handle(exact), again),
    ]


def test_a_signal_added_by_a_reload_counts_from_the_next_poll(world: AudiusWorld) -> None:
    a, b = tastemakers(world, 2)
    (artist,) = world.sim.add_users(1, prefix="newcomer")
    before = world.config()
    world.signal("scouting", min_accounts=2)
    after = world.config()
    store = world.store()

    async def reload_then_poll() -> list[str]:
        runtime = Runtime(before, store, clock=world.clock, retry=world.retry)
        try:
            clients = dict(runtime.platforms)
            world.sim.follow(a, artist)
            await runtime.poll_all()
            runtime.reconfigure(after)
            assert runtime.platforms == clients  # a signal is no reason to rebuild them
            world.sim.follow(b, artist)
            reports = await runtime.poll_all()
            return [s.target.handle for r in reports for s in r.signals]
        finally:
            await runtime.aclose()

    try:
        fired = asyncio.run(reload_then_poll())
    finally:
        store.close()

    assert fired == [world.handle(artist)]
    assert [s.accounts for s in signals(world)] == [["taste1", "taste2"]]
