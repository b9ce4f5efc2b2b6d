"""The history of every membership, checked against what really happened: real polls of the
simulators over loopback into a real database file, time on the world's fake clock.

What watcher can know of a list at a moment is what its polls had found by then, so the list
at T is checked against the event log replayed up to T (and, once changes have settled,
against the simulator's true graph); each test runs over several seeds of churn.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from tests.world import AudiusWorld, SoundCloudWorld
from watcher.clock import iso
from watcher.store import MIGRATIONS, Store

AnyWorld = AudiusWorld | SoundCloudWorld


def _handles(rows: object) -> set[str]:
    return {str(row[1]) for row in rows}  # type: ignore[attr-defined]


def _replay(store: Store, watch_id: int, baseline: set[str], until: str) -> set[str]:
    """The list as the event log says it stood at `until`: the baseline, then each event."""
    members = set(baseline)
    for row in store.events.find():
        target = row.envelope()["data"]["target"]["handle"]
        if row.timestamp > until:
            break
        if row.type.endswith(".added"):
            members.add(target)
        else:
            members.discard(target)
    return members


def _between(world: AnyWorld) -> str:
    """A moment between the last poll and the next one (which will commit at the clock's
    current time)."""
    return iso(world.clock.now() - timedelta(seconds=1))


def _churn(world: AnyWorld, seed: int, rounds: int) -> tuple[str, int, set[str], list[str]]:
    """Baseline, then `rounds` polls each after a random follow, unfollow or re-follow.
    Returns the curator, the watch id, the baseline's handles and the moment after each poll."""
    rng = random.Random(seed)
    sim = world.sim
    curator, artists = world.curator(40)
    pool = [*artists, *sim.add_users(15, prefix="fresh")]
    world.watch()
    world.poll()
    moments = [_between(world)]
    for _ in range(rounds):
        following = set(sim.following(curator))
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5 and following:
                target = rng.choice(sorted(following))
                sim.unfollow(curator, target)
                following.discard(target)
            else:
                target = rng.choice([a for a in pool if a not in following])
                sim.follow(curator, target)
                following.add(target)
        world.poll()
        moments.append(_between(world))
    world.poll()
    world.poll()  # every absence confirmed
    moments.append(_between(world))
    store = world.store()
    watch_id = store.watches.all()[0].id
    baseline = _handles(store.memberships.members(watch_id, world.platform, at=moments[0]))
    store.close()
    assert len(baseline) == 40
    return curator, watch_id, baseline, moments


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_list_at_every_moment_is_what_the_polls_had_found_by_then(
    either: AnyWorld, seed: int
) -> None:
    curator, watch_id, baseline, moments = _churn(either, seed, rounds=8)
    store = either.store()
    members = store.memberships
    for moment in moments:
        at = _handles(members.members(watch_id, either.platform, at=moment))
        assert at == _replay(store, watch_id, baseline, moment), moment
        assert members.size_at(watch_id, moment) == len(at)
    truth = {either.handle(u) for u in either.sim.following(curator)}
    assert _handles(members.members(watch_id, either.platform)) == truth
    assert _handles(members.members(watch_id, either.platform, at=moments[-1])) == truth


@pytest.mark.parametrize("seed", [4, 5])
def test_a_diff_is_the_net_change_between_two_moments(either: AnyWorld, seed: int) -> None:
    _, watch_id, baseline, moments = _churn(either, seed, rounds=8)
    store = either.store()
    rng = random.Random(seed)
    for _ in range(12):
        since, until = sorted(rng.sample(moments, 2))
        before = _replay(store, watch_id, baseline, since)
        after = _replay(store, watch_id, baseline, until)
        rows = list(store.memberships.diff(watch_id, either.platform, since, until))
        added = {str(m[1]) for change, m in rows if change == "added"}
        removed = {str(m[1]) for change, m in rows if change == "removed"}
        assert (added, removed) == (after - before, before - after), (since, until)
    # Until "now" is the stored list.
    rows = list(store.memberships.diff(watch_id, either.platform, moments[0]))
    now = _handles(store.memberships.members(watch_id, either.platform))
    assert {str(m[1]) for c, m in rows if c == "added"} == now - baseline


def test_a_member_who_leaves_and_comes_back_has_two_periods(audius: AudiusWorld) -> None:
    sim = audius.sim
    curator, artists = audius.curator(10)
    audius.watch()
    audius.poll()
    joined = _between(audius)
    sim.unfollow(curator, artists[3])
    audius.poll()
    audius.poll()  # the absence confirmed: removed
    away = _between(audius)
    sim.follow(curator, artists[3])
    audius.poll()
    back = _between(audius)
    store = audius.store()
    watch_id = store.watches.all()[0].id
    handle = audius.handle(artists[3])

    def since_at(at: str | None) -> str | None:
        rows = store.memberships.members(watch_id, "audius", at=at)
        return next((str(r[5]) for r in rows if r[1] == handle), None)

    first = since_at(joined)
    assert first is not None and first <= joined
    assert since_at(away) is None
    again = since_at(back)
    assert again is not None and away < again <= back
    assert since_at(None) == again  # `since` is when the current membership began
    # A window across the whole departure and return nets to nothing.
    assert list(store.memberships.diff(watch_id, "audius", joined, back)) == []


def test_a_deactivated_member_stays_in_the_list_marked(audius: AudiusWorld) -> None:
    sim = audius.sim
    _curator, artists = audius.curator(12)
    audius.watch()
    audius.poll()
    sim.deactivate(artists[5])
    for _ in range(3):
        audius.poll()
    store = audius.store()
    watch_id = store.watches.all()[0].id
    rows = {r[1]: r for r in store.memberships.members(watch_id, "audius")}
    assert len(rows) == 12 and audius.event_types() == []
    assert rows[audius.handle(artists[5])][7] == 1
    assert [h for h, r in rows.items() if r[7]] == [audius.handle(artists[5])]


def test_every_member_has_a_profile_after_the_first_poll(either: AnyWorld) -> None:
    either.curator(30)
    either.watch()
    either.poll()
    store = either.store()
    watch_id = store.watches.all()[0].id
    rows = list(store.memberships.members(watch_id, either.platform, sort="name"))
    assert len(rows) == 30
    for target_id, handle, name, followers, _verified, _since, url, gone in rows:
        assert handle and name and url and followers is not None and not gone, target_id
    assert [r[2] for r in rows] == sorted((str(r[2]) for r in rows), key=str.lower)


@pytest.mark.parametrize("held", ["in-memory", "in-table"])
def test_follower_counts_are_written_once_a_day_and_other_changes_at_once(
    audius: AudiusWorld, held: str
) -> None:
    audius.engine["members_in_memory"] = 50_000 if held == "in-memory" else 0
    sim = audius.sim
    _curator, artists = audius.curator(8)
    audius.watch()
    audius.poll()
    store = audius.store()
    watch_id = store.watches.all()[0].id
    star = audius.handle(artists[2])

    def followers() -> int | None:
        rows = store.memberships.members(watch_id, "audius")
        return next(r[3] for r in rows if r[1] == star)

    first = followers()
    sim.set_base_followers(artists[2], 5_000)
    audius.poll()
    assert followers() == first  # counted today already
    audius.clock.advance(24 * 3600)
    audius.poll()
    assert followers() == sim.user(artists[2]).follower_count
    sim.set_base_followers(artists[2], 7_000)
    audius.poll()
    assert followers() == sim.user(artists[2]).follower_count - 2_000


def test_a_quiet_poll_writes_no_member_profile(audius: AudiusWorld) -> None:
    curator, artists = audius.curator(60)
    audius.watch()
    audius.poll()
    with sqlite3.connect(audius.db_path) as conn:  # count every write to a profile
        conn.executescript(
            """
            CREATE TABLE profile_writes (id TEXT);
            CREATE TRIGGER counted_insert AFTER INSERT ON accounts
                BEGIN INSERT INTO profile_writes VALUES (new.id); END;
            CREATE TRIGGER counted_update AFTER UPDATE ON accounts
                BEGIN INSERT INTO profile_writes VALUES (new.id); END;
            """
        )

    def written() -> list[str]:
        with sqlite3.connect(audius.db_path) as conn:
            rows = conn.execute("SELECT id FROM profile_writes WHERE id != ?", [curator])
            return [str(r[0]) for r in rows]

    audius.sim.set_base_followers(artists[0], 10)  # a count, on the day it was written
    audius.poll()
    assert written() == []
    audius.clock.advance(24 * 3600)
    audius.poll()  # a new day: the count that moved is written, and nothing else
    assert written() == [audius.sim.user(artists[0]).id]


def _to_version_8(path: Path) -> None:
    """Make a database file look as this version's predecessor left it."""
    with sqlite3.connect(path) as conn:
        # Migration 12's (members by joining time), 11's (the polls' time index), 10's
        # (signals), then 9's.
        conn.execute("DROP INDEX edges_by_joined")
        conn.execute("DROP INDEX polls_by_watch_time")
        conn.execute("DROP TABLE signal_state")
        conn.execute("DROP INDEX events_by_target_time")
        conn.execute("DROP INDEX events_by_type_time")
        conn.execute("DROP INDEX events_by_target")
        conn.execute("DROP TABLE past_members")
        conn.execute("ALTER TABLE edges DROP COLUMN joined_at")
        conn.execute("ALTER TABLE accounts DROP COLUMN counted_on")
        conn.execute("PRAGMA user_version = 8")


@pytest.mark.parametrize("seed", [6, 7])
def test_an_older_database_gets_a_history_from_its_baseline_and_events(
    audius: AudiusWorld, seed: int
) -> None:
    _, watch_id, _baseline, moments = _churn(audius, seed, rounds=6)
    store = audius.store()
    expected = {m: _handles(store.memberships.members(watch_id, "audius", at=m)) for m in moments}
    store.close()
    _to_version_8(audius.db_path)
    store = audius.store()  # migrates
    for moment, members in expected.items():
        assert _handles(store.memberships.members(watch_id, "audius", at=moment)) == members
    assert store.version == len(MIGRATIONS)
