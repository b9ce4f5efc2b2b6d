"""The simulators' adversity modes (watcher.sim.adversity), pinned over real HTTP, and the
ground truth (history, state_at, visible_at) property tests build on."""

from __future__ import annotations

import base64
import random
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from watcher.sim.adversity import MODES, Adversity, MidRead
from watcher.sim.audius import AudiusSim
from watcher.sim.graph import Relation
from watcher.sim.soundcloud import SoundCloudSim

TLS = ssl.create_default_context()
BASIC = "Basic " + base64.b64encode(b"sim-client-id:sim-client-secret").decode()


class SimClock:
    """A clock the test moves by hand: no sleeps."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@contextmanager
def serving(sim: AudiusSim) -> Iterator[httpx.Client]:
    with sim.serve() as base_url, httpx.Client(base_url=base_url, timeout=5, verify=TLS) as api:
        yield api


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def page(api: httpx.Client, uid: str, offset: int = 0, limit: int = 100) -> list[str]:
    body = data(api.get(f"/users/{uid}/following", params={"offset": offset, "limit": limit}))
    return [user["id"] for user in body]


def curator_of(sim: AudiusSim, follows: int, counts: int = 1) -> tuple[str, list[str]]:
    """A curator following `follows` artists; `counts` distinct follower counts (1: all tied),
    the first artists having the highest."""
    artists = sim.add_users(follows, prefix="artist", base_followers=lambda i: 1000 - i % counts)
    curator = sim.add_user(handle="curator", name="Curator")
    sim.follow_many(curator, artists)
    return curator, artists


def lagging_world(adversity: Adversity) -> tuple[AudiusSim, SimClock, str, list[str]]:
    """A settled world of 60 followed artists, then the top 5 unfollowed at t=100, lag 5 s."""
    clock = SimClock()
    sim = AudiusSim(seed=4, replicas=3, load_seed=False, adversity=adversity, clock=clock)
    curator, artists = curator_of(sim, 60, counts=60)
    clock.advance(100)  # every replica has caught up with the world's creation
    for artist in artists[:5]:
        sim.unfollow(curator, artist)
    return sim, clock, curator, artists


# -- the presets -----------------------------------------------------------------------------------


def test_modes_name_every_preset_and_the_default_is_honest() -> None:
    assert MODES["honest"] == Adversity() == Adversity.honest()
    assert Adversity().plain and Adversity.shuffled_ties().plain  # the original fast path
    assert {"tie_shuffle", "lag", "split_hydration", "hydration_500", "short_pages"} <= set(MODES)
    assert {"counts_stale", "counts_low", "counts_high", "counts_zero", "mid_read"} <= set(MODES)
    assert all(
        not mode.plain for name, mode in MODES.items() if name not in ("honest", "tie_shuffle")
    )
    mix = MODES["mix"]
    assert mix.tie_shuffle and mix.lag and mix.split_hydration and mix.hydration_500
    assert mix.short_pages and mix.counts != "true" and mix.mid_read.probability
    assert "lag=2.0" in mix.describe() and Adversity().describe() == "honest"


@pytest.mark.parametrize(
    "bad",
    [
        {"lag": -1.0},
        {"short_pages": 1.5},
        {"hydration_500": -0.1},
        {"counts": "random"},
        {"counts_skew": -1},
    ],
)
def test_nonsense_knobs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Adversity(**bad)


def test_nonsense_mid_read_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        MidRead(probability=0.5, kinds=("teleport",))
    with pytest.raises(ValueError):
        MidRead(probability=2.0)


# -- tie_shuffle -----------------------------------------------------------------------------------


def test_tie_shuffle_orders_a_tied_list_afresh_on_every_request() -> None:
    sim = AudiusSim(seed=5, replicas=1, adversity=Adversity.shuffled_ties())
    curator, artists = curator_of(sim, 60)  # one replica, all tied
    with serving(sim) as api:
        orders = [tuple(page(api, curator)) for _ in range(8)]
    assert len(set(orders)) == 8
    assert all(set(order) == set(artists) for order in orders)


def test_shuffle_each_request_is_the_tie_shuffle_knob() -> None:
    sim = AudiusSim(seed=5, replicas=1)
    sim.shuffle_each_request = True
    assert sim.adversity == Adversity.shuffled_ties()
    sim.adversity = Adversity.lagging()
    assert not sim.shuffle_each_request


def test_tie_shuffle_with_other_modes_still_orders_by_count() -> None:
    sim = AudiusSim(seed=5, replicas=3, adversity=Adversity(tie_shuffle=True, short_pages=0.01))
    curator, _ = curator_of(sim, 80, counts=4)
    with serving(sim) as api:
        orders = {tuple(page(api, curator)) for _ in range(6)}
        counts = [u["follower_count"] for u in data(api.get(f"/users/{curator}/following"))]
    assert len(orders) == 6
    assert counts == sorted(counts, reverse=True)


# -- lag -------------------------------------------------------------------------------------------


def test_lag_makes_replicas_disagree_until_the_lag_has_passed() -> None:
    sim, clock, curator, artists = lagging_world(Adversity.lagging(5.0))
    with serving(sim) as api:
        during = [set(page(api, curator)) for _ in range(40)]
        followees = {data(api.get(f"/users/{curator}"))["followee_count"] for _ in range(40)}
        clock.advance(5.0)
        after = [set(page(api, curator)) for _ in range(40)]
    assert len({frozenset(lst) for lst in during}) > 1  # replicas at different moments
    assert all(set(artists[5:]) <= lst <= set(artists) for lst in during)
    assert len(followees) > 1 and followees <= set(range(55, 61))
    assert all(lst == set(artists[5:]) for lst in after)


def test_a_lagging_replica_never_shows_a_change_before_an_earlier_one() -> None:
    """Replicas apply changes in order: each list served is the list of some moment."""
    clock = SimClock()
    sim = AudiusSim(seed=8, replicas=3, load_seed=False, clock=clock)
    curator, artists = curator_of(sim, 20, counts=20)
    sim.adversity = Adversity.lagging(10.0)
    moments = [frozenset(sim.following(curator))]
    for artist in artists[:8]:
        clock.advance(0.5)
        sim.unfollow(curator, artist)
        moments.append(frozenset(sim.following(curator)))
    with serving(sim) as api:
        for _ in range(6):
            served = [frozenset(page(api, curator)) for _ in range(10)]
            assert all(lst in moments for lst in served)
            clock.advance(1.0)


# -- split hydration, hydration 500 ----------------------------------------------------------------


def test_split_hydration_with_lag_gives_short_pages_before_the_end() -> None:
    sim, clock, curator, _ = lagging_world(Adversity.split_reads(5.0))
    with serving(sim) as api:
        lengths = [len(page(api, curator, limit=20)) for _ in range(60)]
        clock.advance(5.0)
        settled = [len(page(api, curator, limit=20)) for _ in range(20)]
    assert 20 in lengths and min(lengths) < 20  # the entries the hydrating replica lacks
    assert settled == [20] * 20


def test_without_split_hydration_lag_alone_keeps_pages_full() -> None:
    sim, _, curator, _ = lagging_world(Adversity.lagging(5.0))
    with serving(sim) as api:
        assert {len(page(api, curator, limit=20)) for _ in range(40)} == {20}


def test_hydration_that_misses_a_row_can_answer_500() -> None:
    sim, clock, curator, _ = lagging_world(Adversity.hydration_errors(5.0))
    with serving(sim) as api:
        params = {"limit": 20}
        during = [api.get(f"/users/{curator}/following", params=params) for _ in range(60)]
        clock.advance(5.0)
        after = [api.get(f"/users/{curator}/following", params=params) for _ in range(20)]
    statuses = {response.status_code for response in during}
    assert statuses == {200, 500}
    assert all(len(r.json()["data"]) == 20 for r in during if r.status_code == 200)
    assert all(r.status_code == 200 for r in after)


# -- short pages -----------------------------------------------------------------------------------


def test_short_pages_answer_one_entry_fewer_or_none_but_never_at_the_end() -> None:
    sim = AudiusSim(seed=2, replicas=3, adversity=Adversity.short_paged(0.5))
    curator, _ = curator_of(sim, 100, counts=100)
    with serving(sim) as api:
        first = [len(page(api, curator, 0, 20)) for _ in range(40)]
        last = [len(page(api, curator, 80, 20)) for _ in range(20)]
    assert set(first) == {0, 19, 20}
    assert last == [20] * 20


# -- counts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adversity", "followees", "artist_followers"),
    [
        (Adversity(), 13, 1001),
        (Adversity.stale_counts(60.0), 10, 1000),
        (Adversity.low_counts(2), 11, 999),
        (Adversity.high_counts(1), 14, 1002),
        (Adversity.zero_counts(), 0, 0),
    ],
)
def test_counts_modes_change_what_profiles_show(
    adversity: Adversity, followees: int, artist_followers: int
) -> None:
    clock = SimClock()
    sim = AudiusSim(seed=1, replicas=3, load_seed=False, adversity=adversity, clock=clock)
    curator, _ = curator_of(sim, 10)  # at t=0
    late = sim.add_users(3, prefix="late", base_followers=1000)
    clock.advance(100)
    sim.follow_many(curator, late)  # at t=100: 60 s ago, the curator followed 10
    with serving(sim) as api:
        profile = data(api.get(f"/users/{curator}"))
        by_handle = data(api.get("/users/handle/curator"))
        listed = data(api.get(f"/users/{curator}/following", params={"limit": 100}))
        bulk = data(api.get("/users", params=[("id", curator), ("id", late[0])]))
    assert profile["followee_count"] == by_handle["followee_count"] == followees
    assert bulk[0]["followee_count"] == followees
    late_entry = next(user for user in listed if user["id"] == late[0])
    assert late_entry["follower_count"] == bulk[1]["follower_count"] == artist_followers


def test_stale_counts_catch_up_once_older_than_their_age() -> None:
    clock = SimClock()
    sim = AudiusSim(seed=1, load_seed=False, adversity=Adversity.stale_counts(30.0), clock=clock)
    curator, artists = curator_of(sim, 10)
    clock.advance(100)
    sim.unfollow(curator, artists[0])
    with serving(sim) as api:
        assert data(api.get(f"/users/{curator}"))["followee_count"] == 10
        clock.advance(30)
        assert data(api.get(f"/users/{curator}"))["followee_count"] == 9


@pytest.mark.parametrize(("counts", "expected"), [("low", 4), ("high", 6), ("zero", 0)])
def test_soundcloud_counts_modes(counts: str, expected: int) -> None:
    sim = SoundCloudSim(seed=3, adversity=Adversity(counts=counts))
    curator = sim.add_user("curator")
    sim.follow_many(curator, sim.add_users(5, prefix="artist"))
    with sim.serve() as base_url, httpx.Client(base_url=base_url, verify=TLS) as api:
        token = api.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": BASIC},
        ).json()["access_token"]
        api.headers["Authorization"] = f"OAuth {token}"
        assert api.get(f"/users/{curator}").json()["followings_count"] == expected


# -- mid-read changes ------------------------------------------------------------------------------


def test_mid_read_swaps_change_the_list_between_pages_and_are_in_history() -> None:
    mid_read = MidRead(probability=1.0, kinds=("swap",))
    sim = AudiusSim(seed=6, replicas=3, load_seed=False, adversity=Adversity(mid_read=mid_read))
    curator, artists = curator_of(sim, 50, counts=50)
    before = len(sim.history())
    with serving(sim) as api:
        page(api, curator, 0, 20)
        assert len(sim.history()) == before  # the first page of a read changes nothing
        page(api, curator, 20, 20)
        page(api, curator, 40, 20)
    changes = sim.history()[before:]
    assert [change.kind for change in changes] == ["unfollow", "follow"] * 2
    assert all(change.user == curator for change in changes)
    assert {c.other for c in changes if c.kind == "unfollow"} <= set(artists)
    newcomers = [sim.user(c.other) for c in changes if c.kind == "follow"]
    assert all(user.handle.startswith("midread_") for user in newcomers)
    assert len(sim.following(curator)) == 50  # a swap keeps the size (and the count)


def test_mid_read_follows_pick_from_the_pool_then_stop_when_not_fresh() -> None:
    mid_read = MidRead(probability=1.0, kinds=("follow",), pool=("pooled", "nobody"), fresh=False)
    sim = AudiusSim(seed=6, replicas=3, load_seed=False, adversity=Adversity(mid_read=mid_read))
    curator, _ = curator_of(sim, 30)
    pooled = sim.add_user("pooled")
    with serving(sim) as api:
        for offset in (10, 20, 30):
            page(api, curator, offset, 10)
    follows = [c for c in sim.history() if c.other == pooled]
    assert len(follows) == 1 and pooled in sim.following(curator)
    assert len(sim.following(curator)) == 31


def test_soundcloud_mid_read_changes_happen_between_cursor_pages() -> None:
    mid_read = MidRead(probability=1.0, kinds=("unfollow",))
    sim = SoundCloudSim(seed=3, adversity=Adversity(mid_read=mid_read))
    curator = sim.add_user("curator")
    sim.follow_many(curator, sim.add_users(30, prefix="artist"))
    before = len(sim.history())
    with sim.serve() as base_url, httpx.Client(base_url=base_url, verify=TLS) as api:
        token = api.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": BASIC},
        ).json()["access_token"]
        api.headers["Authorization"] = f"OAuth {token}"
        params = {"limit": "10", "linked_partitioning": "true"}
        body = api.get(f"/users/{curator}/followings", params=params).json()
        assert len(sim.history()) == before
        while body.get("next_href"):
            body = api.get(body["next_href"]).json()
    changes = sim.history()[before:]
    assert changes and all(c.kind == "unfollow" and c.user == curator for c in changes)
    assert len(sim.following(curator)) == 30 - len(changes)


# -- ground truth ----------------------------------------------------------------------------------


def _random_operations(
    rng: random.Random,
    sim: AudiusSim | SoundCloudSim,
    clock: SimClock,
    users: list[str],
    steps: int,
) -> list[tuple[float, dict[tuple[str, Relation], frozenset[str]], dict[str, bool]]]:
    """Random follows, unfollows and flag changes at advancing times; the model's state
    (edges of every user, visibility) after each step."""
    following: dict[str, set[str]] = {user: set() for user in users}
    hidden: dict[str, bool] = dict.fromkeys(users, False)
    moments = []
    for _ in range(steps):
        clock.advance(rng.choice([0.0, 0.5, 1.0]))
        user, other = rng.sample(users, 2)
        roll = rng.random()
        if roll < 0.5:
            sim.follow(user, other)
            following[user].add(other)
        elif roll < 0.8:
            sim.unfollow(user, other)
            following[user].discard(other)
        elif roll < 0.9:
            bulk = rng.sample([u for u in users if u != user], 20)
            sim.follow_many(user, bulk)
            following[user].update(bulk)
        elif isinstance(sim, AudiusSim):
            if hidden[user]:
                sim.reactivate(user)
            else:
                sim.deactivate(user)
            hidden[user] = not hidden[user]
        else:
            if hidden[user]:
                sim.restore(user)
            else:
                sim.delete(user)
            hidden[user] = not hidden[user]
        edges: dict[tuple[str, Relation], frozenset[str]] = {}
        for u in users:
            edges[(u, "following")] = frozenset(following[u])
            edges[(u, "followers")] = frozenset(v for v in users if u in following[v])
        moments.append((clock.t, edges, {u: not hidden[u] for u in users}))
    return moments


@pytest.mark.parametrize("platform", ["audius", "soundcloud"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_state_at_matches_the_graph_after_random_operations(platform: str, seed: int) -> None:
    clock = SimClock()
    sim: AudiusSim | SoundCloudSim
    if platform == "audius":
        sim = AudiusSim(seed=seed, load_seed=False, clock=clock, adversity=MODES["mix"])
    else:
        sim = SoundCloudSim(seed=seed, clock=clock)
    users = sim.add_users(30, prefix="member")
    moments = _random_operations(random.Random(seed), sim, clock, users, 150)
    # Several steps may share a time: the state at t is the one after the last of them.
    last_at = {t: (edges, visible) for t, edges, visible in moments}
    for t, (edges, visible) in last_at.items():
        for (user, relation), members in edges.items():
            assert sim.state_at(user, relation, t) == members, (t, user, relation)
        assert all(sim.visible_at(user, t) == visible[user] for user in users)
    assert all(sim.state_at(user, "following", -1.0) == frozenset() for user in users)
    history = sim.history()
    assert [c.time for c in history] == sorted(c.time for c in history)
    follows = sum(c.kind == "follow" for c in history) - sum(c.kind == "unfollow" for c in history)
    assert follows == sum(
        len(members) for (_, rel), members in moments[-1][1].items() if rel == "following"
    )


def test_history_records_effective_changes_with_ids_and_clock_times() -> None:
    clock = SimClock(50.0)
    sim = AudiusSim(seed=1, load_seed=False, clock=clock)
    a, b = sim.add_users(2)
    sim.follow(a, b)
    sim.follow(a, b)  # no-op: not a change
    clock.advance(1)
    sim.deactivate(b)
    sim.deactivate(b)
    clock.advance(1)
    sim.unfollow(a, b)
    sim.delete(a)
    assert [(c.time, c.user, c.other, c.kind) for c in sim.history()] == [
        (50.0, a, b, "follow"),
        (51.0, b, "", "deactivate"),
        (52.0, a, b, "unfollow"),
        (52.0, a, "", "delete"),
    ]
    assert sim.state_at(b, "followers", 51.5) == {a} and sim.state_at(b, "followers", 52) == set()
    assert sim.visible_at(b, 50.5) and not sim.visible_at(b, 51)
    assert sim.visible_at(a, 51.9) and not sim.visible_at(a, 52)


# -- bulk profiles ---------------------------------------------------------------------------------


def test_bulk_users_answers_found_profiles_in_the_order_asked() -> None:
    sim = AudiusSim(seed=1)
    alice, bob, gone = (sim.add_user(handle) for handle in ("alice", "bob", "gone"))
    sim.delete(gone)
    unknown = sim.encode_id(9_000_000)
    with serving(sim) as api:
        ids = [bob, unknown, "eJ57D", gone, alice, bob]
        found = data(api.get("/users", params=[("id", uid) for uid in ids]))
        assert [user["id"] for user in found] == [bob, "eJ57D", alice]
        assert sim.requests[-1].query_all["id"] == ids
        assert api.get("/users").status_code == 400
        assert api.get("/users", params={"id": "nobody!"}).status_code == 400
        assert api.get("/users", params=[("id", alice)] * 101).status_code == 400
        assert len(data(api.get("/users", params=[("id", alice)] * 100))) == 1


# -- determinism and scale -------------------------------------------------------------------------


def test_the_mix_is_deterministic_for_a_seed_and_a_request_sequence() -> None:
    def run(seed: int) -> list[tuple[int, str]]:
        clock = SimClock()
        sim = AudiusSim(seed=seed, load_seed=False, adversity=Adversity.mix(), clock=clock)
        curator, artists = curator_of(sim, 300, counts=7)
        answers = []
        with serving(sim) as api:
            for step in range(40):
                clock.advance(0.25)
                if step % 5 == 0:
                    sim.unfollow(curator, artists[step])
                response = api.get(
                    f"/users/{curator}/following", params={"offset": step % 4 * 100, "limit": 100}
                )
                answers.append((response.status_code, response.text))
        return answers

    first = run(3)
    assert first == run(3) and first != run(4)
    assert any(status == 200 for status, _ in first)


def test_modes_serve_a_list_of_a_few_thousand() -> None:
    clock = SimClock()
    sim = AudiusSim(seed=9, load_seed=False, adversity=Adversity.mix(), clock=clock)
    curator, artists = curator_of(sim, 3000, counts=50)
    with serving(sim) as api:
        for step, offset in enumerate(range(0, 3000, 100)):
            if step % 3 == 0:
                sim.unfollow(curator, artists[step])
            clock.advance(0.1)
            response = api.get(
                f"/users/{curator}/following", params={"offset": offset, "limit": 100}
            )
            assert response.status_code in (200, 500)
