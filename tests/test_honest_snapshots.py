"""The cases that once gave false or lost events, each pinned end to end over loopback."""

from __future__ import annotations

from tests.world import AudiusWorld
from watcher.sim.audius import AudiusSim
from watcher.sim.http import SimRequest


def curator_of(sim: AudiusSim, follows: int) -> tuple[str, list[str]]:
    """A curator following `follows` artists of distinct follower counts (no ties at all)."""
    artists = sim.add_users(follows, prefix="artist", base_followers=lambda i: 10_000 - 10 * i)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=100)
    sim.follow_many(curator, artists)
    return curator, artists


def watch(harness: AudiusWorld) -> None:
    harness.watches.append({"platform": "audius", "account": "curator"})


def is_page(request: SimRequest, offset: int) -> bool:
    return request.path.endswith("/following") and request.query.get("offset") == str(offset)


def test_an_unfollow_and_a_follow_while_a_page_is_read_give_no_false_event(
    harness: AudiusWorld,
) -> None:
    """The count stays 250 and every later entry shifts up by one, so the first entry of page
    2 is skipped without any repeat: it must not be reported removed, ever."""
    sim = harness.sim
    curator, artists = curator_of(sim, 250)
    late = sim.add_user(handle="late", name="Late", base_followers=1)  # sorts last
    watch(harness)
    harness.poll()
    gone = artists[10]

    def swap_during_page_two(request: SimRequest) -> None:
        if is_page(request, 100) and gone in sim.following(curator):
            sim.unfollow(curator, gone)
            sim.follow(curator, late)

    sim.on_request(swap_during_page_two)
    for _ in range(4):
        assert harness.poll().ok
    assert sorted(harness.event_types()) == [
        ("following.added", "late"),
        ("following.removed", sim.user(gone).handle),
    ]


def test_a_short_or_empty_page_before_the_end_is_never_a_wave_of_removals(
    harness: AudiusWorld,
) -> None:
    """One replica answers an empty page at offset 100 of a 250 list, poll after poll for a
    while: the 150 entries after it are pending at worst, never removed, never re-added."""
    sim = harness.sim
    curator_of(sim, 250)
    watch(harness)
    harness.poll()
    empty = '{"data": []}'
    for times in (1, 2, 3, 4):  # the lie grows longer each poll, then stops
        sim.faults.add("/following", status=200, body=empty, times=times, after=1)
        assert harness.poll().ok
        sim.faults.clear()
    for _ in range(3):
        harness.poll()
    assert harness.event_types() == []


def test_a_baseline_is_complete_even_when_the_count_stops_short(harness: AudiusWorld) -> None:
    """The account's count says 100 while it follows 150 (some accounts lag): the baseline
    holds all 150, so nobody is reported as a new follow later."""
    sim = harness.sim
    curator, artists = curator_of(sim, 150)
    for artist in artists[100:]:
        sim.unfollow(curator, artist)
    watch(harness)
    stale = sim.user(curator)  # the profile as it will be shown: 100 follows
    sim.follow_many(curator, artists[100:])

    def stale_profile(request: SimRequest) -> None:
        if request.path.endswith(f"/users/{curator}"):
            sim.set_base_followers(curator, stale.base_followers)

    sim.on_request(stale_profile)
    first = harness.poll()
    assert first.ok and first.baseline and first.size == 150
    for _ in range(3):
        assert harness.poll().events == []
    assert harness.event_types() == []


def test_an_unfollow_while_the_target_was_deactivated_is_recorded_once_it_returns(
    harness: AudiusWorld,
) -> None:
    sim = harness.sim
    curator, artists = curator_of(sim, 120)
    watch(harness)
    harness.poll()
    target = artists[7]
    sim.deactivate(target)
    for _ in range(3):
        assert harness.poll().events == []  # gone from the list: kept silently
    sim.unfollow(curator, target)
    sim.reactivate(target)
    harness.clock.advance(3600)  # members kept silently are examined again hourly
    for _ in range(3):
        harness.poll()
    assert harness.event_types() == [("following.removed", sim.user(target).handle)]
    sim.follow(curator, target)  # a later re-follow is news again, not a silent return
    harness.poll()
    assert harness.event_types()[-1] == ("following.added", sim.user(target).handle)


def test_a_deactivated_member_that_comes_back_still_followed_is_silent(
    harness: AudiusWorld,
) -> None:
    sim = harness.sim
    _, artists = curator_of(sim, 120)
    watch(harness)
    harness.poll()
    sim.deactivate(artists[3])
    for _ in range(3):
        harness.poll()
    harness.clock.advance(3600)
    harness.poll()  # examined again: still deactivated, still kept
    sim.reactivate(artists[3])
    for _ in range(3):
        harness.poll()
    assert harness.event_types() == []


def test_an_entry_with_an_empty_id_fails_the_poll_and_commits_nothing(harness: AudiusWorld) -> None:
    sim = harness.sim
    curator_of(sim, 30)
    watch(harness)
    harness.poll()
    bad = '{"data": [{"id": "", "handle": "ghost", "name": "Ghost", "follower_count": 1}]}'
    sim.faults.add("/following", status=200, body=bad, times=1)
    report = harness.poll()
    assert not report.ok and "usable id" in (report.error or "")
    harness.poll()
    assert harness.event_types() == []


def test_removals_are_confirmed_with_bulk_profile_requests(harness: AudiusWorld) -> None:
    sim = harness.sim
    curator, artists = curator_of(sim, 150)
    watch(harness)
    harness.poll()
    gone = artists[10:115]  # 105 unfollows: two bulk requests, 100 ids and 5
    for artist in gone:
        sim.unfollow(curator, artist)
    harness.poll()  # missing once: pending
    sim.reset_log()
    harness.poll()  # confirmed by a verifying pass, then by the accounts' own profiles
    bulk = [r for r in sim.requests if r.path.endswith("/v1/users")]
    single = [r for r in sim.requests if r.path.rsplit("/", 1)[-1] in set(gone)]
    assert [len(r.query_all["id"]) for r in bulk] == [100, 5]
    assert single == []
    removed = [handle for kind, handle in harness.event_types() if kind == "following.removed"]
    assert sorted(removed) == sorted(sim.user(a).handle for a in gone)
