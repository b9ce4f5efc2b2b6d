"""`check = "counts"`: a quiet poll reads only the watched account's profile while its count
stands still, the list at least every `full_every`-th poll, and never reports anything false.

Against the simulators over loopback (both platforms through `either`), a real database file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import store_reads
from tests.commands import run_watcher
from tests.test_config_errors import WATCH, refused, write
from tests.world import SoundCloudWorld, World
from watcher.config import load
from watcher.poll import PollReport
from watcher.quiet_check import LastListRead, StoredState, reason_to_read
from watcher.sim.soundcloud import SoundCloudSim

AnyWorld = World[Any]


def counts_watch(world: AnyWorld, follows: int = 30, full_every: int = 4) -> tuple[str, list[str]]:
    """The curator following `follows` artists, watched with a counts check, baseline taken."""
    curator, artists = world.curator(follows)
    world.watch("curator")
    world.watches[0] |= {"check": "counts", "full_every": full_every}
    assert world.poll().baseline
    return curator, artists


def polled(world: AnyWorld) -> tuple[PollReport, int]:
    """One poll, and the requests the simulator served for it."""
    before = world.sim.request_count
    report = world.poll()
    assert report.ok, report.error
    return report, world.sim.request_count - before


def last_poll(world: AnyWorld) -> dict[str, Any]:
    store = world.store()
    try:
        return store_reads.polls(store, store.watches.all()[0].id, limit=1)[0]
    finally:
        store.close()


def edges(world: AnyWorld) -> dict[str, str]:
    store = world.store()
    try:
        return store_reads.edges(store, store.watches.all()[0].id)
    finally:
        store.close()


def test_a_quiet_poll_of_a_counts_watch_costs_exactly_one_request(either: AnyWorld) -> None:
    counts_watch(either)
    stored = edges(either)
    report, requests = polled(either)
    assert requests == 1  # the profile; no page
    assert report.counts_only and report.events == [] and report.size == 30
    assert "count unchanged, list not read" in report.line()
    record = last_poll(either)
    assert (record["pages"], record["passes"], record["requests"]) == (0, 0, 1)
    assert (record["size"], record["complete"], record["added"], record["removed"]) == (
        30,
        1,
        0,
        0,
    )
    assert edges(either) == stored  # no edge, pending or hidden state touched


def test_a_full_check_still_reads_the_list_on_every_quiet_poll(either: AnyWorld) -> None:
    either.curator(30)
    either.watch("curator")
    either.poll()
    report, requests = polled(either)
    assert not report.counts_only and report.pages >= 1 and requests > 1
    assert last_poll(either)["requests"] == requests  # every request the poll made


def test_every_full_every_th_poll_reads_the_list_whatever_the_count(either: AnyWorld) -> None:
    counts_watch(either, full_every=3)
    read = [not polled(either)[0].counts_only for _ in range(7)]
    assert read == [False, False, True, False, False, True, False]


def test_a_changed_count_reads_the_list_and_reports_the_change(either: AnyWorld) -> None:
    curator, artists = counts_watch(either)
    newcomer = either.sim.add_user("newcomer")
    either.sim.follow(curator, newcomer)
    report, requests = polled(either)
    assert not report.counts_only and requests > 1
    assert [e.type for e in report.events] == ["following.added"]
    either.sim.unfollow(curator, artists[4])
    assert not polled(either)[0].counts_only  # the count moved: the absence is now pending
    confirm, _ = polled(either)  # back at the last list's count, but the absence is pending
    assert not confirm.counts_only
    assert [e.type for e in confirm.events] == ["following.removed"]
    assert polled(either)[0].counts_only  # settled: quiet again
    assert either.event_types() == [
        ("following.added", either.handle(newcomer)),
        ("following.removed", either.handle(artists[4])),
    ]


@pytest.mark.parametrize("full_every", [2, 4])
def test_a_follow_and_an_unfollow_in_one_interval_are_reported_once_within_full_every_polls(
    either: AnyWorld, full_every: int
) -> None:
    """The count does not move, so only the periodic read sees the pair: the follow at once,
    the unfollow confirmed by the poll after (absence always needs a second poll)."""
    curator, artists = counts_watch(either, full_every=full_every)
    newcomer = either.sim.add_user("newcomer")
    either.sim.follow(curator, newcomer)
    either.sim.unfollow(curator, artists[7])
    seen_at: dict[str, int] = {}
    for number in range(1, full_every + 6):
        report, _ = polled(either)
        for event in report.events:
            seen_at.setdefault(event.type, number)
    assert seen_at == {"following.added": full_every, "following.removed": full_every + 1}
    assert either.event_types() == [
        ("following.added", either.handle(newcomer)),
        ("following.removed", either.handle(artists[7])),
    ]


def test_broken_soundcloud_counts_of_zero_never_stand_for_unchanged(sc: SoundCloudWorld) -> None:
    sim: SoundCloudSim = sc.sim
    sim.counts_broken = True
    curator, _ = counts_watch(sc)
    for _ in range(3):
        report, requests = polled(sc)
        assert not report.counts_only and report.pages >= 1 and requests > 1
    newcomer = sim.add_user("newcomer")
    sim.follow(curator, newcomer)
    assert [e.type for e in polled(sc)[0].events] == ["following.added"]


def test_an_empty_list_with_a_zero_count_is_checked_by_count_and_read_periodically(
    sc: SoundCloudWorld,
) -> None:
    """Nothing stored and 0 shown: a broken count cannot hide more than `full_every` polls."""
    sim: SoundCloudSim = sc.sim
    sim.counts_broken = True
    curator, _ = counts_watch(sc, follows=0, full_every=3)
    newcomer = sim.add_user("newcomer")
    sim.follow(curator, newcomer)
    reports = [polled(sc)[0] for _ in range(3)]
    assert [r.counts_only for r in reports] == [True, True, False]
    assert [e.type for e in reports[2].events] == ["following.added"]


def test_status_after_a_counts_only_poll_shows_the_stored_size(
    either: AnyWorld, tmp_path: Path
) -> None:
    counts_watch(either, follows=12)
    assert polled(either)[0].counts_only
    result = run_watcher(either.write_config(tmp_path / "watcher.toml"), "status", "--json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout.splitlines()[0])
    assert (row["size"], row["outcome"], row["passes"]) == (12, "ok", 0)


# -- the rule and its keys ------------------------------------------------------------------------


def stored(
    complete: bool = True,
    count: int | None = 20,
    since: int = 0,
    members: int = 20,
    pending: int = 0,
) -> StoredState:
    return StoredState(LastListRead(complete, count, since), members, pending)


@pytest.mark.parametrize(
    ("count", "state", "reads"),
    [
        (20, stored(), False),
        (20, stored(since=2), False),
        (20, stored(since=3), True),  # the 4th poll since the last read
        (21, stored(), True),
        (20, stored(pending=1), True),
        (20, stored(complete=False), True),
        (None, stored(), True),
        (20, stored(count=None), True),  # a read recorded before counts were kept
        (0, stored(count=0), True),  # members stored: 0 is a broken count
        (0, stored(count=0, members=0), False),
        (20, StoredState(None, 20, 0), True),
    ],
)
def test_the_rule_reads_the_list_unless_the_count_can_be_trusted(
    count: int | None, state: StoredState, reads: bool
) -> None:
    assert (reason_to_read(count, state, full_every=4) is not None) is reads


def test_full_every_1_always_reads() -> None:
    assert reason_to_read(20, stored(), full_every=1) is not None


def test_check_and_full_every_default_and_inherit_from_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path, WATCH))
    assert config.check_of(config.watch[0]) == ("full", 4)
    text = f'[defaults]\ncheck = "counts"\nfull_every = 6\n{WATCH}{WATCH}relation = "followers"\n'
    text += 'check = "full"\n'
    config = load(write(tmp_path, text))
    assert [config.check_of(w) for w in config.watch] == [("counts", 6), ("full", 6)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[defaults]\ncheck = "count"\n' + WATCH, "defaults.check: must be 'full' or 'counts'"),
        (WATCH + "check = true\n", "watch 'deadmau5': check: must be 'full' or 'counts'"),
        (WATCH + "full_every = 0\n", "watch 'deadmau5': full_every: must be from 1 to 1000"),
        ("[defaults]\nfull_every = 1001\n" + WATCH, "defaults.full_every: must be from 1 to"),
        (WATCH + "full_every = 2.5\n", "full_every: must be a whole number from 1 to 1000"),
        (WATCH + 'full_every = "4"\n', "full_every: must be an integer from 1 to 1000"),
    ],
)
def test_bad_check_keys_are_one_line_naming_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert expected in refused(write(tmp_path, text))
