"""The promises both platforms keep alike, end to end over loopback, once per simulator:
engine -> real HTTP -> simulated Audius or SoundCloud -> real database file."""

from __future__ import annotations

import random

import pytest

from tests.world import AudiusWorld, SoundCloudWorld

AnyWorld = AudiusWorld | SoundCloudWorld


def test_the_first_complete_poll_is_a_silent_baseline(either: AnyWorld) -> None:
    either.curator(250)  # more than a page on both platforms, every count tied
    either.watch()
    report = either.poll()
    assert report.ok and report.baseline and report.complete
    assert report.size == 250 and report.events == []
    assert either.event_types() == []


@pytest.mark.parametrize("held", ["in-memory", "in-table"])
def test_every_real_change_is_reported_within_two_polls_exactly_once(
    either: AnyWorld, held: str
) -> None:
    # Listings held in a dict, and in a scratch table (the path lists past 50,000 take).
    either.engine["members_in_memory"] = 50_000 if held == "in-memory" else 0
    sim = either.sim
    rng = random.Random(5)
    curator, artists = either.curator(220)
    pool = sim.add_users(60, prefix="fresh")
    either.watch()
    either.poll()
    expected: list[tuple[int, str, str]] = []  # (poll number of the change, type, handle)
    seen: dict[tuple[str, str], int] = {}
    for number in range(1, 23):
        following = sim.following(curator)
        if rng.random() < 0.5:
            target = rng.choice([a for a in artists + pool if a not in following])
            sim.follow(curator, target)
            expected.append((number, "following.added", either.handle(target)))
        else:
            target = rng.choice(following)
            sim.unfollow(curator, target)
            expected.append((number, "following.removed", either.handle(target)))
        for event in either.poll().events:
            seen.setdefault((event.type, event.target.handle), number)
    either.poll()
    either.poll()
    # A target may change twice: compare the whole log as a multiset.
    assert sorted(either.event_types()) == sorted((t, h) for _, t, h in expected)
    for number, type_, handle in expected:
        assert seen.get((type_, handle), 99) <= number + 1, (type_, handle)


def test_an_account_that_no_longer_exists_fails_its_watch_without_removals(
    either: AnyWorld,
) -> None:
    curator, _ = either.curator(120)
    either.watch()
    either.poll()
    either.sim.delete(curator)  # SoundCloud's lists now answer an empty 200, Audius's a 404
    report = either.poll()
    assert not report.ok and "no longer exists" in (report.error or "")
    assert either.event_types() == []


def test_followers_watch_reports_new_and_lost_followers(either: AnyWorld) -> None:
    sim = either.sim
    artist = sim.add_user("rising", "Rising")
    fans = sim.add_users(330, prefix="fan")
    sim.add_followers(artist, fans[:300])
    either.watch(account="rising", relation="followers")
    either.poll()
    sim.follow(fans[320], artist)
    sim.unfollow(fans[3], artist)
    either.poll()
    either.poll()
    assert sorted(either.event_types()) == [
        ("follower.added", either.handle(fans[320])),
        ("follower.removed", either.handle(fans[3])),
    ]


def test_an_unknown_account_fails_with_its_name(either: AnyWorld) -> None:
    either.watch(account="nobody-by-this-name")
    report = either.poll()
    assert not report.ok
    assert "nobody-by-this-name" in (report.error or "")
