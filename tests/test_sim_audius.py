"""The simulated Audius API, pinned over real HTTP: every behaviour the watcher must survive."""

from __future__ import annotations

import json
import re
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from watcher.sim.audius import AudiusSim, SimRequest

# Loopback is plain HTTP, but every httpx client builds a TLS context (~50 ms): share one.
TLS = ssl.create_default_context()

USER_FIELDS = {
    "album_count",
    "bio",
    "cover_photo",
    "followee_count",
    "follower_count",
    "handle",
    "id",
    "is_verified",
    "location",
    "name",
    "playlist_count",
    "profile_picture",
    "repost_count",
    "track_count",
    "is_deactivated",
    "is_available",
    "erc_wallet",
    "spl_wallet",
    "supporter_count",
    "supporting_count",
    "total_audio_balance",
    "wallet",
}


def client(base_url: str, timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=timeout, verify=TLS)


@pytest.fixture
def asim() -> AudiusSim:
    return AudiusSim(seed=7, replicas=3)


@pytest.fixture
def api(asim: AudiusSim) -> Iterator[httpx.Client]:
    with asim.serve() as base_url, client(base_url) as api:
        yield api


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def page(api: httpx.Client, uid: str, relation: str, offset: int, limit: int) -> list[str]:
    body = data(api.get(f"/users/{uid}/{relation}", params={"offset": offset, "limit": limit}))
    return [user["id"] for user in body]


def one_pass(api: httpx.Client, uid: str, relation: str, total: int, limit: int) -> list[str]:
    """What a naive client collects: one offset pass, pages concatenated."""
    seen: list[str] = []
    for offset in range(0, total, limit):
        seen += page(api, uid, relation, offset, limit)
    return seen


def curator_of(sim: AudiusSim, follows: int, tie_every: int = 3) -> tuple[str, list[str]]:
    """An account following `follows` artists whose follower counts repeat (ties)."""
    artists = sim.add_users(follows, prefix="artist", base_followers=lambda i: i % tie_every)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    sim.follow_many(curator, artists)
    return curator, artists


# -- profiles, handles, resolve ----------------------------------------------------------


def test_seed_user_is_served_with_its_real_id_and_fields(api: httpx.Client) -> None:
    user = data(api.get("/users/eJ57D"))
    assert user.keys() >= USER_FIELDS
    assert (user["id"], user["handle"], user["follower_count"]) == ("eJ57D", "Audius", 1719690)
    assert user["is_verified"] is True and user["is_available"] is True
    assert user["profile_picture"]["150x150"].endswith("/150x150.jpg")
    assert user["followee_count"] == 0  # the simulated graph, not the seed's real count


def test_plain_integer_id_reaches_the_same_user(asim: AudiusSim, api: httpx.Client) -> None:
    alice = asim.add_user(handle="alice", name="Alice")
    for uid in ("eJ57D", alice):
        assert data(api.get(f"/users/{asim.numeric_id(uid)}"))["id"] == uid


def test_unknown_well_formed_id_is_404_on_the_profile(asim: AudiusSim, api: httpx.Client) -> None:
    response = api.get(f"/users/{asim.encode_id(9_000_000)}")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "error": "user not found"}
    assert api.get("/users/987654321").status_code == 404


@pytest.mark.parametrize("bad", ["ab-cd", "eJ5!D", "x", "-12", "eJ57D0000"])
def test_undecodable_id_is_400(api: httpx.Client, bad: str) -> None:
    for path in (f"/users/{bad}", f"/users/{bad}/following", f"/users/{bad}/followers"):
        response = api.get(path)
        assert response.status_code == 400, path
        assert response.json() == {"code": 400, "error": "invalid userId"}


def test_deleted_user_is_404_its_lists_empty_and_it_leaves_other_lists(
    asim: AudiusSim, api: httpx.Client
) -> None:
    curator, artists = curator_of(asim, 5)
    asim.follow(artists[0], curator)
    asim.delete(artists[0])
    assert api.get(f"/users/{artists[0]}").status_code == 404
    assert api.get("/users/handle/artist_0").status_code == 404
    assert data(api.get(f"/users/{artists[0]}/following")) == []
    assert data(api.get(f"/users/{artists[0]}/followers")) == []
    assert artists[0] not in page(api, curator, "following", 0, 100)
    assert page(api, curator, "followers", 0, 100) == []
    asim.delete(curator)
    assert data(api.get(f"/users/{curator}/following")) == []
    assert asim.user(curator).deleted and asim.following(curator) == []


def test_deactivated_user_profile_is_200_and_says_so(asim: AudiusSim, api: httpx.Client) -> None:
    alice = asim.add_user(handle="alice", name="Alice")
    asim.deactivate(alice)
    user = data(api.get(f"/users/{alice}"))
    assert user["is_deactivated"] is True and user["is_available"] is False


def test_handle_lookup_is_case_insensitive(api: httpx.Client) -> None:
    for handle in ("deadmau5", "DeadMau5", "DEADMAU5"):
        assert data(api.get(f"/users/handle/{handle}"))["id"] == "LKdlD"


def test_unknown_handle_is_404(api: httpx.Client) -> None:
    response = api.get("/users/handle/nobody-by-this-name")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "error": "user not found"}


def test_resolve_redirects_to_user(asim: AudiusSim, api: httpx.Client) -> None:
    alice = asim.add_user(handle="alice", name="Alice")
    response = api.get("/resolve", params={"url": "https://audius.co/Alice"})
    assert response.status_code == 302
    assert response.headers["location"] == f"/v1/users/{alice}"
    followed = api.get("/resolve", params={"url": "https://audius.co/alice"}, follow_redirects=True)
    assert data(followed)["handle"] == "alice"


@pytest.mark.parametrize(
    "url", ["https://audius.co/nobody-here", "https://example.com/alice", "not a url"]
)
def test_resolve_of_anything_but_a_known_profile_is_404(
    asim: AudiusSim, api: httpx.Client, url: str
) -> None:
    asim.add_user(handle="alice", name="Alice")
    assert api.get("/resolve", params={"url": url}).status_code == 404


@pytest.mark.parametrize("path", ["/tracks/trending", "/users/eJ57D/reposts", "/"])
def test_unknown_route_is_404_json(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == 404


# -- lists -----------------------------------------------------------------------------


def test_lists_default_to_twenty_entries_and_end_with_empty_data(
    asim: AudiusSim, api: httpx.Client
) -> None:
    curator, _ = curator_of(asim, 45, tie_every=1000)
    assert len(data(api.get(f"/users/{curator}/following"))) == 20
    assert len(page(api, curator, "following", 40, 100)) == 5
    assert page(api, curator, "following", 45, 100) == []
    assert page(api, curator, "following", 10_000, 100) == []


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "", "2.5"])
def test_limit_out_of_range_or_not_an_integer_is_400(
    asim: AudiusSim, api: httpx.Client, limit: str
) -> None:
    curator, _ = curator_of(asim, 3)
    response = api.get(f"/users/{curator}/following", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["code"] == 400


@pytest.mark.parametrize("offset", ["-1", "x", ""])
def test_negative_or_non_integer_offset_is_400(
    asim: AudiusSim, api: httpx.Client, offset: str
) -> None:
    curator, _ = curator_of(asim, 3)
    assert api.get(f"/users/{curator}/followers", params={"offset": offset}).status_code == 400


def test_limit_bounds_are_accepted(asim: AudiusSim, api: httpx.Client) -> None:
    curator, _ = curator_of(asim, 120)
    assert len(page(api, curator, "following", 0, 1)) == 1
    assert len(page(api, curator, "following", 0, 100)) == 100


def test_unknown_well_formed_id_lists_empty(asim: AudiusSim, api: httpx.Client) -> None:
    unknown = asim.encode_id(9_000_000)
    assert data(api.get(f"/users/{unknown}/following")) == []
    assert data(api.get(f"/users/{unknown}/followers", params={"limit": 100})) == []


def test_lists_are_ordered_by_follower_count_descending(asim: AudiusSim, api: httpx.Client) -> None:
    curator, artists = curator_of(asim, 90, tie_every=7)
    users = data(api.get(f"/users/{curator}/following", params={"limit": 100}))
    counts = [user["follower_count"] for user in users]
    assert counts == sorted(counts, reverse=True)
    assert {user["id"] for user in users} == set(artists)


def test_follower_count_is_base_plus_followers_including_deactivated(
    asim: AudiusSim, api: httpx.Client
) -> None:
    star = asim.add_user(handle="star", name="Star", base_followers=1000)
    fans = asim.add_users(30, prefix="fan")
    asim.add_followers(star, fans)
    asim.deactivate(fans[0])
    asim.unfollow(fans[1], star)
    assert data(api.get(f"/users/{star}"))["follower_count"] == 1029
    assert asim.user(star).follower_count == 1029
    asim.set_base_followers(star, 5)
    assert data(api.get(f"/users/{star}"))["follower_count"] == 34
    assert len(page(api, star, "followers", 0, 100)) == 28


def test_deactivated_accounts_are_left_out_of_lists_but_still_counted(
    asim: AudiusSim, api: httpx.Client
) -> None:
    curator, artists = curator_of(asim, 30)
    for artist in artists[:4]:
        asim.deactivate(artist)
    listed = page(api, curator, "following", 0, 100)
    assert set(listed) == set(artists[4:])
    assert data(api.get(f"/users/{curator}"))["followee_count"] == 30
    asim.reactivate(artists[0])
    assert artists[0] in page(api, curator, "following", 0, 100)


def test_ties_come_back_in_different_orders_across_replicas(
    asim: AudiusSim, api: httpx.Client
) -> None:
    curator, _ = curator_of(asim, 60, tie_every=1)  # everyone tied
    orders = {tuple(page(api, curator, "following", 0, 100)) for _ in range(30)}
    assert len(orders) == 3  # one per replica, each fixed
    assert len({frozenset(order) for order in orders}) == 1


def test_one_replica_serves_a_stable_tie_order() -> None:
    sim = AudiusSim(seed=3, replicas=1)
    curator, _ = curator_of(sim, 60, tie_every=1)
    with sim.serve() as base_url, client(base_url) as api:
        orders = {tuple(page(api, curator, "following", 0, 100)) for _ in range(10)}
    assert len(orders) == 1


def test_single_offset_pass_over_ties_can_skip_entries(asim: AudiusSim, api: httpx.Client) -> None:
    curator, artists = curator_of(asim, 150, tie_every=1)
    passes = [one_pass(api, curator, "following", 150, 20) for _ in range(5)]
    assert all(len(seen) == 150 for seen in passes)
    assert any(set(seen) < set(artists) for seen in passes)  # skipped entries
    assert any(len(set(seen)) < len(seen) for seen in passes)  # repeated entries


def test_shuffle_each_request_reorders_ties_on_every_request() -> None:
    sim = AudiusSim(seed=5, replicas=1)
    sim.shuffle_each_request = True
    curator, artists = curator_of(sim, 80, tie_every=4)
    with sim.serve() as base_url, client(base_url) as api:
        orders = [page(api, curator, "following", 0, 100) for _ in range(6)]
        counts = [u["follower_count"] for u in data(api.get(f"/users/{curator}/following"))]
    assert len({tuple(order) for order in orders}) == 6
    assert all(set(order) == set(artists) for order in orders)
    assert counts == sorted(counts, reverse=True)


def test_a_given_seed_serves_the_same_pages() -> None:
    def pages(seed: int) -> list[list[str]]:
        sim = AudiusSim(seed=seed, replicas=3)
        curator, _ = curator_of(sim, 70, tie_every=2)
        with sim.serve() as base_url, client(base_url) as api:
            return [page(api, curator, "following", 20, 20) for _ in range(8)]

    assert pages(1) == pages(1)
    assert pages(1) != pages(2)


def _mutate(sim: AudiusSim, curator: str, artists: list[str], fans: list[str]) -> None:
    """A mix of every kind of change, small and bulk."""
    sim.unfollow(curator, artists[3])
    sim.follow(fans[0], artists[10])  # a followee's count moves
    sim.follow(fans[1], artists[10])
    sim.follow(curator, fans[2])
    sim.deactivate(artists[11])
    sim.deactivate(fans[3])
    sim.reactivate(fans[3])
    sim.set_base_followers(artists[12], 50)
    sim.set_base_followers(artists[13], 0)
    sim.delete(artists[14])
    sim.add_followers(artists[20], fans[4:40])  # bulk: cached lists dropped
    sim.follow_many(fans[5], artists[:5])  # small bulk: patched
    sim.follow_many(curator, fans[40:70])  # bulk
    sim.add_followers(curator, artists[30:33])  # small bulk
    sim.unfollow(artists[31], curator)


def test_cached_orders_stay_exact_under_mutation() -> None:
    """Lists cached before changes (patched in place) equal lists sorted after them."""

    def run(warm_before_changes: bool) -> list[list[str]]:
        sim = AudiusSim(seed=9, replicas=3)
        curator, artists = curator_of(sim, 120, tie_every=3)
        fans = sim.add_users(80, prefix="fan", base_followers=lambda i: i % 3)
        sim.add_followers(curator, artists[:60])
        with sim.serve() as base_url, client(base_url) as api:
            if warm_before_changes:
                _warm(api, curator)
                _mutate(sim, curator, artists, fans)
            else:
                _mutate(sim, curator, artists, fans)
                _warm(api, curator)
            lists = [page(api, curator, rel, 0, 100) for rel in ("following", "followers") * 6]
        assert set(lists[0]) <= set(sim.following(curator))
        assert set(lists[1]) <= set(sim.followers(curator))
        return lists

    assert run(warm_before_changes=True) == run(warm_before_changes=False)


def _warm(api: httpx.Client, curator: str) -> None:
    for _ in range(12):  # every replica of both lists, whatever the draw
        page(api, curator, "following", 0, 100)
        page(api, curator, "followers", 0, 100)


# -- parameters and auth -------------------------------------------------------------------


def test_user_id_parameter_is_forbidden(asim: AudiusSim, api: httpx.Client) -> None:
    curator, _ = curator_of(asim, 3)
    for path in (f"/users/{curator}/following", f"/users/{curator}", "/users/handle/curator"):
        response = api.get(path, params={"user_id": curator})
        assert response.status_code == 403
        assert response.json()["code"] == 403


def test_wrong_api_key_is_401_and_the_key_is_optional() -> None:
    sim = AudiusSim(seed=1, api_key="sesame")
    with sim.serve() as base_url, client(base_url) as api:
        assert api.get("/users/eJ57D").status_code == 200
        good = {"Authorization": "Bearer sesame"}
        assert api.get("/users/eJ57D", headers=good).status_code == 200
        wrong = api.get("/users/eJ57D", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["code"] == 401


def test_app_name_is_ignored(api: httpx.Client) -> None:
    assert data(api.get("/users/eJ57D", params={"app_name": "watcher"}))["id"] == "eJ57D"


# -- faults ------------------------------------------------------------------------------


def test_status_fault_answers_once_then_recovers(asim: AudiusSim, api: httpx.Client) -> None:
    asim.faults.add(path_contains="/following", status=500, times=1)
    assert api.get("/users/eJ57D").status_code == 200  # does not match
    failed = api.get("/users/eJ57D/following")
    assert failed.status_code == 500
    assert failed.json() == {"code": 500, "error": "internal server error"}
    assert api.get("/users/eJ57D/following").status_code == 200
    assert len(asim.faults) == 0


def test_fault_after_skips_matching_requests_and_times_counts_firings(
    asim: AudiusSim, api: httpx.Client
) -> None:
    asim.faults.add(path_contains="/followers", status=503, after=2, times=2)
    statuses = [api.get("/users/eJ57D/followers").status_code for _ in range(5)]
    assert statuses == [200, 200, 503, 503, 200]


def test_rate_limit_fault_carries_its_headers(asim: AudiusSim, api: httpx.Client) -> None:
    asim.faults.add(kind="status", status=429, headers={"Retry-After": "1"})
    response = api.get("/users/eJ57D")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == 429


def test_status_fault_with_a_body_sends_it_verbatim(asim: AudiusSim, api: httpx.Client) -> None:
    asim.faults.add(path_contains="/following", status=200, body='{"data": []}', times=None)
    for _ in range(3):
        assert api.get("/users/eJ57D/following").json() == {"data": []}
    asim.faults.clear()
    assert api.get("/users/eJ57D/following").status_code == 200


def test_malformed_fault_answers_200_with_a_non_json_body(
    asim: AudiusSim, api: httpx.Client
) -> None:
    asim.faults.add(kind="malformed")
    response = api.get("/users/eJ57D")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_truncated_fault_cuts_the_json_body_in_half(asim: AudiusSim, api: httpx.Client) -> None:
    full = api.get("/users/eJ57D").content
    asim.faults.add(path_contains="/users/eJ57D", kind="truncated")
    response = api.get("/users/eJ57D")
    assert response.status_code == 200
    assert response.content == full[: len(full) // 2]
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert api.get("/users/eJ57D").content == full  # and the connection is still usable


def test_timeout_fault_holds_the_answer_past_the_client_timeout(
    asim: AudiusSim, api: httpx.Client
) -> None:
    asim.faults.add(path_contains="/following", kind="timeout", delay=30.0)
    with pytest.raises(httpx.ReadTimeout):
        api.get("/users/eJ57D/following", timeout=0.2)
    assert api.get("/users/eJ57D/following").status_code == 200
    # Stopping the simulator (fixture teardown) wakes the sleeping request at once.


def test_timeout_fault_answers_normally_after_its_delay(asim: AudiusSim, api: httpx.Client) -> None:
    asim.faults.add(kind="timeout", delay=0.1)
    started = time.perf_counter()
    assert data(api.get("/users/eJ57D"))["handle"] == "Audius"
    assert time.perf_counter() - started >= 0.1


def test_unknown_fault_kind_is_refused(asim: AudiusSim) -> None:
    with pytest.raises(ValueError):
        asim.faults.add(kind="explode")  # type: ignore[arg-type]


# -- latency, hooks, request log ------------------------------------------------------------


def test_latency_is_added_to_every_request(asim: AudiusSim, api: httpx.Client) -> None:
    asim.latency = 0.05
    started = time.perf_counter()
    for _ in range(2):
        api.get("/users/eJ57D")
    assert time.perf_counter() - started >= 0.1
    asim.latency = 0.0


def test_on_request_hook_sees_each_request_before_it_is_served(
    asim: AudiusSim, api: httpx.Client
) -> None:
    seen: list[tuple[SimRequest, int | None]] = []
    asim.on_request(lambda request: seen.append((request, request.status)))
    api.get("/users/eJ57D/following", params={"offset": 5, "limit": 7}, headers={"X-Probe": "1"})
    api.get("/users/handle/wuki")
    (first, status_in_hook), (second, _) = seen
    assert status_in_hook is None and first.status == 200  # the hook ran before the answer
    assert (first.method, first.path, first.index) == ("GET", "/v1/users/eJ57D/following", 0)
    assert first.query == {"offset": "5", "limit": "7"}
    assert first.headers["x-probe"] == "1" and first.headers.get("X-PROBE") == "1"
    assert second.index == 1


def test_hook_can_change_state_mid_paging(asim: AudiusSim, api: httpx.Client) -> None:
    artists = asim.add_users(300, prefix="artist", base_followers=lambda i: 1000 - i)
    curator = asim.add_user(handle="curator", name="Curator")
    asim.follow_many(curator, artists)
    victim = artists[20]

    def unfollow_before_second_page(request: SimRequest) -> None:
        if request.path.endswith("/following") and request.query.get("offset") == "100":
            asim.unfollow(curator, victim)

    asim.on_request(unfollow_before_second_page)
    seen = one_pass(api, curator, "following", 300, 100)
    assert victim in seen  # it was on the first page
    assert artists[100] not in seen  # shifted onto page one after it was read: skipped
    assert len(seen) == 299


def test_failing_hook_answers_500_and_is_recorded(asim: AudiusSim, api: httpx.Client) -> None:
    def broken(request: SimRequest) -> None:
        raise RuntimeError("boom")

    asim.on_request(broken)
    assert api.get("/users/eJ57D").status_code == 500
    assert isinstance(asim.errors[0], RuntimeError)
    asim.remove_hook(broken)
    assert api.get("/users/eJ57D").status_code == 200


def test_request_log_records_status_and_resets(asim: AudiusSim, api: httpx.Client) -> None:
    api.get("/users/eJ57D")
    api.get("/users/nobody!")
    api.get("/users/eJ57D/following", params={"user_id": "1"})
    assert asim.request_count == 3
    assert [r.status for r in asim.requests] == [200, 400, 403]
    asim.reset_log()
    assert asim.request_count == 0 and asim.requests == []
    api.get("/users/eJ57D")
    assert asim.requests[0].index == 0


# -- server lifecycle and the Python API ---------------------------------------------------


def test_serve_gives_a_v1_base_url_and_stops_on_exit() -> None:
    sim = AudiusSim(seed=1)
    with sim.serve() as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", base_url)
        with client(base_url) as api:
            assert api.get("/users/eJ57D").status_code == 200
        with pytest.raises(RuntimeError):
            sim.start()
    with pytest.raises(httpx.ConnectError), client(base_url) as api:
        api.get("/users/eJ57D")
    assert sim.start() != ""  # restartable
    sim.stop()


def test_add_user_returns_hashid_like_ids(asim: AudiusSim) -> None:
    ids = [asim.add_user(handle=f"user{i}", name=f"User {i}") for i in range(50)]
    ids += asim.add_users(500, prefix="bulk")
    assert all(re.fullmatch(r"[A-Za-z0-9]{5,7}", uid) for uid in ids)
    assert len(set(ids)) == len(ids)
    assert asim.id_of("USER7") == ids[7] and asim.id_of("bulk_3") == ids[53]


def test_add_user_rejects_a_taken_handle(asim: AudiusSim) -> None:
    asim.add_user(handle="alice", name="Alice")
    with pytest.raises(ValueError):
        asim.add_user(handle="ALICE", name="Other Alice")
    with pytest.raises(ValueError):
        asim.add_user(handle="Audius", name="Impostor")


def test_add_users_makes_handles_names_and_counts(asim: AudiusSim) -> None:
    first = asim.add_users(3, prefix="fan", base_followers=lambda i: i * 10)
    again = asim.add_users(2, prefix="fan", base_followers=4)
    users = [asim.user(uid) for uid in first + again]
    assert [u.handle for u in users] == ["fan_0", "fan_1", "fan_2", "fan_3", "fan_4"]
    assert [u.base_followers for u in users] == [0, 10, 20, 4, 4]
    assert users[1].name == "Fan 1"


def test_follow_is_idempotent_and_self_follow_is_refused(asim: AudiusSim) -> None:
    a, b = asim.add_users(2)
    asim.follow(a, b)
    asim.follow(a, b)
    asim.follow_many(a, [b, b])
    assert asim.following(a) == [b] and asim.followers(b) == [a]
    assert asim.user(b).follower_count == 1 and asim.user(a).followee_count == 1
    asim.unfollow(a, b)
    asim.unfollow(a, b)
    assert asim.following(a) == []
    with pytest.raises(ValueError):
        asim.follow(a, a)
    with pytest.raises(KeyError):
        asim.follow(a, asim.encode_id(9_000_000))


def test_ground_truth_lists_leave_out_hidden_accounts(asim: AudiusSim) -> None:
    star = asim.add_user(handle="star", name="Star")
    fans = asim.add_users(40, prefix="fan")
    asim.add_followers(star, fans)
    asim.deactivate(fans[0])
    asim.delete(fans[1])
    assert asim.followers(star) == fans[2:]
    snapshot = asim.user(fans[0])
    assert snapshot.deactivated and not snapshot.deleted and asim.user(fans[1]).deleted


# -- scale -----------------------------------------------------------------------------------


def test_thirty_thousand_followings_page_in_three_hundred_requests(asim: AudiusSim) -> None:
    curator, artists = curator_of(asim, 30_000, tie_every=50)
    with asim.serve() as base_url, client(base_url) as api:
        seen = one_pass(api, curator, "following", 30_000, 100)
        assert page(api, curator, "following", 30_000, 100) == []
    assert len(seen) == 30_000 and set(seen) <= set(artists)
    assert asim.request_count == 301


def test_bulk_creation_of_200k_users_is_quick(asim: AudiusSim, api: httpx.Client) -> None:
    star = asim.add_user(handle="star", name="Star")
    fans = asim.add_users(200_000, prefix="fan", base_followers=lambda i: i % 3)
    asim.add_followers(star, fans)
    assert asim.user(star).follower_count == 200_000
    first = data(api.get(f"/users/{star}/followers", params={"limit": 100}))
    assert [u["follower_count"] for u in first] == [2] * 100
    assert data(api.get(f"/users/{star}/followers", params={"offset": 199_950, "limit": 100}))
