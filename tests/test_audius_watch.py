"""Issue 2's guarantees, end to end: engine -> real HTTP on loopback -> simulated Audius."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import store_reads
from tests.world import AudiusWorld
from watcher.sim.audius import AudiusSim


def tastemaker(sim: AudiusSim, follows: int, counts: Callable[[int], int]) -> tuple[str, list[str]]:
    """An account following `follows` artists whose follower counts are given by `counts`."""
    artists = sim.add_users(follows, prefix="artist", base_followers=counts)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=100)
    sim.follow_many(curator, artists)
    return curator, artists


def watch(harness: AudiusWorld, account: str = "curator", relation: str = "following") -> None:
    harness.watches.append({"platform": "audius", "account": account, "relation": relation})


@pytest.mark.parametrize("shuffle_each_request", [False, True])
def test_unchanged_tied_list_polled_many_times_emits_nothing(
    harness: AudiusWorld, shuffle_each_request: bool
) -> None:
    harness.sim.shuffle_each_request = shuffle_each_request
    tastemaker(harness.sim, 250, lambda i: i % 3)  # three huge tie groups across every page
    watch(harness)
    reports = [harness.poll() for _ in range(12)]
    assert all(r.ok and r.complete and r.size == 250 for r in reports)
    assert harness.event_types() == []


def test_quiet_poll_of_a_large_stable_list_costs_one_pass(harness: AudiusWorld) -> None:
    sim = harness.sim
    _, artists = tastemaker(sim, 2500, lambda i: 10 * i)  # distinct counts, no ties
    for artist in artists[:7]:
        sim.deactivate(artist)  # counted by the profile, absent from the list: counts never match
    watch(harness)
    harness.poll()
    sim.reset_log()
    report = harness.poll()
    assert report.ok and report.passes == 1 and report.pages == 25
    assert sim.request_count == 26  # the profile, then 25 pages of 100: nothing more


def test_requests_never_carry_user_id_and_keep_limit_in_range(harness: AudiusWorld) -> None:
    tastemaker(harness.sim, 230, lambda i: i % 2)
    watch(harness)
    for _ in range(3):
        harness.poll()
    listed = [r for r in harness.sim.requests if r.path.endswith("/following")]
    assert listed
    assert all("user_id" not in r.query for r in harness.sim.requests)
    assert all(1 <= int(r.query["limit"]) <= 100 for r in listed)


def test_unfollow_is_reported_exactly_once(harness: AudiusWorld) -> None:
    sim = harness.sim
    curator, artists = tastemaker(sim, 120, lambda i: i % 4)
    watch(harness)
    harness.poll()
    sim.unfollow(curator, artists[5])
    for _ in range(3):
        harness.poll()
    assert harness.event_types() == [("following.removed", sim.user(artists[5]).handle)]


def test_follow_is_reported_exactly_once_in_the_next_poll(harness: AudiusWorld) -> None:
    sim = harness.sim
    curator, _ = tastemaker(sim, 120, lambda i: i % 4)
    newcomer = sim.add_user(handle="newcomer", name="New Comer", base_followers=1)
    watch(harness)
    harness.poll()
    sim.follow(curator, newcomer)
    report = harness.poll()
    assert [(e.type, e.target.handle) for e in report.events] == [("following.added", "newcomer")]
    harness.poll()
    assert harness.event_types() == [("following.added", "newcomer")]


def test_removal_during_paging_is_reported_once_with_no_collateral(harness: AudiusWorld) -> None:
    sim = harness.sim
    curator, artists = tastemaker(sim, 300, lambda i: 1000 - i)  # distinct counts: pure shifts
    watch(harness)
    harness.poll()
    victim = artists[20]  # on the first page: removing it shifts every later page left by one

    def unfollow_before_second_page(request) -> None:  # type: ignore[no-untyped-def]
        paging = request.path.endswith("/following") and request.query.get("offset") == "100"
        if paging and victim in sim.following(curator):
            sim.unfollow(curator, victim)

    sim.on_request(unfollow_before_second_page)
    for _ in range(3):
        assert harness.poll().ok
    assert harness.event_types() == [("following.removed", sim.user(victim).handle)]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 429, "headers": {"Retry-After": "0"}},
        {"kind": "malformed"},
        {"kind": "truncated"},
        {"kind": "timeout", "delay": 1.5},
    ],
    ids=["http-500", "http-429", "malformed", "truncated", "timeout"],
)
def test_a_failed_page_commits_nothing_and_fails_the_watch(
    harness: AudiusWorld, fault: dict[str, object]
) -> None:
    sim = harness.sim
    harness.timeout = 0.5
    curator, artists = tastemaker(sim, 250, lambda i: 1000 - i)
    watch(harness)
    harness.poll()
    store = harness.store()
    before = store_reads.edges(store, 1)
    store.close()
    sim.unfollow(curator, artists[3])
    sim.follow(curator, sim.add_user(handle="late", name="Late", base_followers=1))
    sim.faults.add(path_contains="/following", after=1, times=2, **fault)  # type: ignore[arg-type]
    report = harness.poll()
    assert not report.ok and report.error
    assert report.events == []
    store = harness.store()
    try:
        assert store_reads.edges(store, 1) == before
        assert store.events.count() == 0
        row = store.watches.get("audius:curator:following")
        assert row is not None and row.last_outcome == "error" and row.consecutive_failures == 1
    finally:
        store.close()
    # The next clean polls pick up both changes (an unfollow is confirmed by a second poll).
    harness.poll()
    harness.poll()
    assert sorted(harness.event_types()) == [
        ("following.added", "late"),
        ("following.removed", sim.user(artists[3]).handle),
    ]


def test_a_followee_that_deactivates_is_not_an_unfollow(harness: AudiusWorld) -> None:
    sim = harness.sim
    _, artists = tastemaker(sim, 150, lambda i: i % 3)
    watch(harness)
    harness.poll()
    sim.deactivate(artists[10])
    for _ in range(3):
        assert harness.poll().ok
    sim.reactivate(artists[10])
    for _ in range(2):
        assert harness.poll().ok
    assert harness.event_types() == []


def test_a_deactivated_watched_account_fails_clearly(harness: AudiusWorld) -> None:
    curator, _ = tastemaker(harness.sim, 20, lambda i: i)
    watch(harness)
    harness.poll()
    harness.sim.deactivate(curator)
    report = harness.poll()
    assert not report.ok and "deactivated" in (report.error or "")
    assert harness.event_types() == []


def test_an_empty_list_contradicting_the_profile_is_refused(harness: AudiusWorld) -> None:
    tastemaker(harness.sim, 40, lambda i: i)
    watch(harness)
    harness.poll()
    harness.sim.faults.add(
        path_contains="/following", kind="status", status=200, body='{"data": []}', times=5
    )
    report = harness.poll()
    assert not report.ok and "empty" in (report.error or "")
    assert harness.event_types() == []


@pytest.mark.parametrize("form", ["deadmau5", "@deadmau5", "LKdlD", "https://audius.co/deadmau5"])
def test_an_account_may_be_named_by_handle_id_or_profile_url(
    harness: AudiusWorld, form: str
) -> None:
    watch(harness, account=form)
    report = harness.poll()
    assert report.ok
    store = harness.store()
    try:
        assert store.watches.all()[0].account_id == "LKdlD"
    finally:
        store.close()


def test_storage_grows_with_changes_not_with_polls(harness: AudiusWorld) -> None:
    tastemaker(harness.sim, 300, lambda i: i % 5)
    watch(harness)
    for _ in range(5):
        harness.poll()
    before = settled_size(harness)
    for _ in range(40):
        harness.poll()
    growth = settled_size(harness) - before
    store = harness.store()
    try:
        assert store_reads.edge_counts(store, store.watches.all()[0].id) == {"present": 300}
        assert len(store_reads.polls(store, store.watches.all()[0].id, limit=1000)) == 45
    finally:
        store.close()
    assert growth / 40 <= 4096  # one small metadata row per quiet poll, no snapshot copies


def settled_size(harness: AudiusWorld) -> int:
    """The database file's size once the write-ahead log is folded into it."""
    store = harness.store()
    try:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return harness.db_path.stat().st_size


def test_a_list_whose_count_checks_out_costs_no_empty_page(harness: AudiusWorld) -> None:
    tastemaker(harness.sim, 200, lambda i: 10 * i + 1)
    watch(harness)
    harness.poll()
    harness.sim.reset_log()
    assert harness.poll().ok
    paths = [r.path for r in harness.sim.requests]
    assert len(paths) == 3 and sum(p.endswith("/following") for p in paths) == 2


def test_a_follow_landing_mid_poll_pushes_nobody_out_as_a_false_removal(
    harness: AudiusWorld,
) -> None:
    sim = harness.sim
    curator, _ = tastemaker(sim, 200, lambda i: 10 * i + 1)
    star = sim.add_user(handle="newstar", name="New Star", base_followers=10**6)
    watch(harness)
    harness.poll()

    def follow_once_paging_starts(request) -> None:  # type: ignore[no-untyped-def]
        # After the profile (count 200) was read: the list grows to 201 and the new
        # account sorts first, pushing the last entry past where the count says it ends.
        if request.path.endswith("/following") and star not in sim.following(curator):
            sim.follow(curator, star)

    sim.on_request(follow_once_paging_starts)
    first = harness.poll()  # reads 200 entries: the new one, and all but the last old one
    assert first.ok
    assert [(e.type, e.target.handle) for e in first.events] == [("following.added", "newstar")]
    for _ in range(3):
        assert harness.poll().events == []
    assert harness.event_types() == [("following.added", "newstar")]
    store = harness.store()
    try:
        assert store_reads.edge_counts(store, store.watches.all()[0].id) == {"present": 201}
    finally:
        store.close()
