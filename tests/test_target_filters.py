"""Filters on the target, end to end: a poll records every event, and each notifier's outbox
gets only the events whose target passes its filter; failure alerts always pass.

Four artists the curator follows in one poll: `small_artist` (5 followers), `mid_artist`
(500), `big_artist` (50,000, verified) and `tiny_verified` (50, verified); counts as the
simulator serves them, each one higher for the curator's own follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.receiver import Receiver
from tests.world import AudiusWorld, tastemakers, verified_by
from watcher.platforms.base import Profile
from watcher.store import Route, Store
from watcher.target_filter import TargetFilter, parse_ref

ARTISTS = {"small_artist": (5, False), "mid_artist": (500, False)}
ARTISTS |= {"big_artist": (50_000, True), "tiny_verified": (50, True)}
NOW = "2026-11-22T12:00:00Z"


def four_artists(world: AudiusWorld) -> dict[str, str]:
    """The four artists; handle -> id."""
    return {
        handle: world.sim.add_user(handle, handle.replace("_", " ").title(), base, verified)
        for handle, (base, verified) in ARTISTS.items()
    }


def curator_follows(world: AudiusWorld, ids: dict[str, str]) -> None:
    """The curator, watched and baselined, then following the artists in one poll."""
    curator = world.sim.add_user("curator", "Curator")
    world.poll()
    world.sim.follow_many(curator, ids.values())
    assert len(world.poll().events) == len(ids)


def follow_four(world: AudiusWorld) -> None:
    curator_follows(world, four_artists(world))


def delivered_targets(receiver: Receiver) -> list[str]:
    return sorted(request.json()["data"]["target"]["handle"] for request in receiver.requests)


# Each filter key alone, then together: (keys, the artists that pass).
CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"min_target_followers": 100}, ["big_artist", "mid_artist"]),
    ({"max_target_followers": 100}, ["small_artist", "tiny_verified"]),
    ({"verified_only": True}, ["big_artist", "tiny_verified"]),
    (
        # `id:HANDLE`: that artist's id, written as the config may write one.
        {"include_targets": ["small_artist", "https://audius.co/Big_Artist", "id:mid_artist"]},
        ["big_artist", "mid_artist", "small_artist"],
    ),
    ({"exclude_targets": ["@small_artist"]}, ["big_artist", "mid_artist", "tiny_verified"]),
    (
        {"min_target_followers": 10, "verified_only": True, "exclude_targets": ["big_artist"]},
        ["tiny_verified"],
    ),
]


def test_a_notifier_gets_only_the_events_whose_target_passes_its_filter(
    outbox: AudiusWorld,
) -> None:
    with Receiver(verified_by()) as rx:
        ids = four_artists(outbox)
        outbox.webhook("everything", rx.url("/everything"))
        for number, (keys, _) in enumerate(CASES):
            written = {
                key: [ids[v[3:]] if v.startswith("id:") else v for v in value]
                if isinstance(value, list)
                else value
                for key, value in keys.items()
            }
            outbox.webhook(f"case{number}", rx.url(f"/case{number}"), **written)
        outbox.watch("curator", *outbox.notifiers)
        curator_follows(outbox, ids)
        outbox.dispatch()

    def delivered(path: str) -> list[str]:
        return sorted(r.json()["data"]["target"]["handle"] for r in rx.requests if r.path == path)

    assert delivered("/everything") == sorted(ARTISTS)
    for number, (keys, passing) in enumerate(CASES):
        assert delivered(f"/case{number}") == passing, keys
    assert sorted(handle for _, handle in outbox.event_types()) == sorted(ARTISTS)  # all kept


def test_a_digest_counts_and_lists_only_what_passes(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.apprise("chat", rx.url("/n", "json"), verified_only=True)
        outbox.watch("curator", "chat")
        follow_four(outbox)
        outbox.dispatch()

    [request] = rx.requests
    assert request.json()["title"] == "Audius: @curator followed 2"
    body = request.json()["message"]
    assert "@big_artist" in body and "@tiny_verified" in body
    assert "small_artist" not in body and "mid_artist" not in body


def test_a_poll_whose_events_all_fail_a_filter_sends_that_notifier_nothing(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as rx:
        outbox.webhook("picky", rx.url("/picky"), include_targets=["nobody_followed"])
        outbox.watch("curator", "picky")
        follow_four(outbox)
        report = outbox.dispatch()

    assert report.outcomes == [] and rx.requests == []
    assert outbox.deliveries() == []


def test_failure_alerts_pass_every_filter(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.webhook(
            "picky",
            rx.url("/picky"),
            include_targets=["nobody_followed"],
            min_target_followers=10**9,
            verified_only=True,
        )
        outbox.watch("curator", "picky")
        outbox.defaults["alert_after"] = 2
        curator = outbox.sim.add_user("curator", "Curator")
        assert outbox.poll().ok
        outbox.sim.deactivate(curator)
        for _ in range(2):
            assert not outbox.poll().ok
        outbox.sim.reactivate(curator)
        assert outbox.poll().ok
        outbox.dispatch()

    assert [request.json()["type"] for request in rx.requests] == [
        "watch.failing",
        "watch.recovered",
    ]


def test_a_signal_reaches_a_notifier_only_if_its_target_passes_the_notifiers_filter(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as small_only, Receiver() as everything:
        outbox.webhook("small", small_only.url("/small"), max_target_followers=1000)
        outbox.webhook("everything", everything.url("/all"))
        outbox.signal("scouting", "small", "everything", min_accounts=2)
        a, b = tastemakers(outbox, 2)
        small = outbox.sim.add_user("small_one", "Small", 10)
        big = outbox.sim.add_user("big_one", "Big", 90_000)
        for user in (a, b):
            outbox.sim.follow_many(user, [small, big])
        outbox.poll_all()
        outbox.dispatch()

    assert delivered_targets(small_only) == ["small_one"]
    assert delivered_targets(everything) == ["big_one", "small_one"]


@pytest.mark.parametrize(
    ("target_filter", "count", "passes"),
    [
        (TargetFilter(min_followers=100), 100, True),  # bounds are inclusive
        (TargetFilter(min_followers=100), 99, False),
        (TargetFilter(max_followers=100), 100, True),
        (TargetFilter(max_followers=100), 101, False),
        (TargetFilter(min_followers=0), None, False),  # a count the platform did not give
        (TargetFilter(max_followers=10**9), None, False),
        (TargetFilter(verified_only=False), None, True),
    ],
)
def test_count_bounds_are_inclusive_and_an_unknown_count_fails_them(
    target_filter: TargetFilter, count: int | None, passes: bool
) -> None:
    target = Profile("x", "x", "X", "https://audius.co/x", follower_count=count)
    assert target_filter.passes("audius", target) is passes


def test_a_quota_alert_is_written_for_a_filtered_notifier(tmp_path: Path) -> None:
    """`quota.exhausted` goes out through the outbox's generic rows (quota_alerts.py), which
    carry no target: no filter can hold one back."""
    store = Store.open(tmp_path / "w.db")
    try:
        watch_id = store.watches.ensure("audius:a:following", "audius", "a", "following", "t").id
        picky = Route("picky", None, TargetFilter(verified_only=True, include=(parse_ref("x"),)))
        payload = '{"id": "evt_q", "type": "quota.exhausted", "data": {}}'
        with store.transaction():
            store.outbox.enqueue(
                watch_id, "quota", NOW, [picky], [("quota.exhausted", None, payload)]
            )
        assert [(row.notifier, row.kind) for row in store.outbox.due(NOW)] == [("picky", "alert")]
    finally:
        store.close()
