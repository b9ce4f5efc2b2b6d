"""The simulated SoundCloud API, pinned over real HTTP: every behaviour the watcher must survive."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from watcher.sim.soundcloud import FOREIGN_HOST, SoundCloudSim

TLS = ssl.create_default_context()
BASIC = "Basic " + base64.b64encode(b"sim-client-id:sim-client-secret").decode()


@pytest.fixture
def scsim() -> SoundCloudSim:
    return SoundCloudSim(seed=3)


@pytest.fixture
def raw(scsim: SoundCloudSim) -> Iterator[httpx.Client]:
    """A client without a token."""
    with scsim.serve() as base_url, httpx.Client(base_url=base_url, verify=TLS) as client:
        yield client


@pytest.fixture
def api(scsim: SoundCloudSim, raw: httpx.Client) -> httpx.Client:
    """A client with a valid token from the token endpoint."""
    token = grant(raw)["access_token"]
    raw.headers["Authorization"] = f"OAuth {token}"
    return raw


def grant(client: httpx.Client, **form: str) -> dict[str, Any]:
    response = client.post(
        "/oauth/token",
        data=form or {"grant_type": "client_credentials"},
        headers={"Authorization": BASIC},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def curator_of(sim: SoundCloudSim, follows: int) -> tuple[str, list[str]]:
    artists = sim.add_users(follows, prefix="artist")
    curator = sim.add_user("curator", "The Curator")
    sim.follow_many(curator, artists)
    return curator, artists


def walk(api: httpx.Client, path: str, limit: int = 200) -> tuple[list[str], list[str | None]]:
    """Every URN of a linked-partitioning list, and the next_href of each page."""
    urns: list[str] = []
    hrefs: list[str | None] = []
    if "?" in path:  # a next_href already says everything
        response = api.get(path)
    else:
        response = api.get(path, params={"limit": limit, "linked_partitioning": "true"})
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        urns += [user["urn"] for user in body["collection"]]
        hrefs.append(body.get("next_href"))
        if not body.get("next_href"):
            return urns, hrefs
        response = api.get(body["next_href"])


# -- the token endpoint ----------------------------------------------------------------------


def test_client_credentials_grant_answers_a_token_pair(
    scsim: SoundCloudSim, raw: httpx.Client
) -> None:
    body = grant(raw)
    assert body.keys() == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert body["expires_in"] == 3600
    assert scsim.token_requests == 1 and scsim.tokens.grants["client_credentials"] == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic " + base64.b64encode(b"sim-client-id:wrong").decode()}],
    ids=["no-basic-auth", "wrong-secret"],
)
def test_token_endpoint_wants_basic_client_auth(
    scsim: SoundCloudSim, raw: httpx.Client, headers: dict[str, str]
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "sim-client-id",
        "client_secret": "sim-client-secret",
    }
    response = raw.post("/oauth/token", data=form, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert scsim.token_requests == 1  # refused requests count against the ration too


def test_refresh_tokens_are_single_use(scsim: SoundCloudSim, raw: httpx.Client) -> None:
    first = grant(raw)
    second = grant(raw, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second["access_token"] != first["access_token"]
    again = raw.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers={"Authorization": BASIC},
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert scsim.tokens.grants == {"client_credentials": 1, "refresh_token": 1}


def test_token_limit_answers_429(scsim: SoundCloudSim, raw: httpx.Client) -> None:
    scsim.tokens.limit = 2
    grant(raw)
    grant(raw)
    response = raw.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 429


# -- request auth ----------------------------------------------------------------------------


def test_requests_need_a_live_oauth_token(scsim: SoundCloudSim, raw: httpx.Client) -> None:
    curator, _ = curator_of(scsim, 2)
    response = raw.get(f"/users/{curator}")
    assert response.status_code == 401
    assert response.json()["errors"] == [{"error_message": "invalid_token"}]
    token = grant(raw)["access_token"]
    for scheme in ("OAuth", "Bearer"):
        assert raw.get(
            f"/users/{curator}", headers={"Authorization": f"{scheme} {token}"}
        ).is_success
    assert raw.get(f"/users/{curator}", headers={"Authorization": "OAuth nope"}).status_code == 401


def test_expired_tokens_are_refused_until_refreshed(
    scsim: SoundCloudSim, raw: httpx.Client
) -> None:
    curator, _ = curator_of(scsim, 2)
    pair = grant(raw)
    headers = {"Authorization": f"OAuth {pair['access_token']}"}
    scsim.expire_tokens()
    assert raw.get(f"/users/{curator}", headers=headers).status_code == 401
    fresh = grant(raw, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert raw.get(
        f"/users/{curator}", headers={"Authorization": f"OAuth {fresh['access_token']}"}
    ).is_success


def test_revoked_tokens_and_refresh_tokens_stop_working(
    scsim: SoundCloudSim, raw: httpx.Client
) -> None:
    curator, _ = curator_of(scsim, 2)
    pair = grant(raw)
    scsim.revoke_tokens()
    headers = {"Authorization": f"OAuth {pair['access_token']}"}
    assert raw.get(f"/users/{curator}", headers=headers).status_code == 401
    refreshed = raw.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        headers={"Authorization": BASIC},
    )
    assert refreshed.status_code == 400


def test_tokens_expire_after_their_lifetime() -> None:
    now = [1000.0]
    sim = SoundCloudSim(token_lifetime=60, monotonic=lambda: now[0])
    token = sim.tokens.issue()
    assert sim.tokens.valid(token)
    now[0] += 61
    assert not sim.tokens.valid(token)


# -- users, ids, resolve ---------------------------------------------------------------------


def test_user_object_carries_urn_permalink_username_and_url(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    urn = scsim.add_user("some-artist", "Some Artist")
    user = api.get(f"/users/{urn}").json()
    assert user["urn"] == urn and user["kind"] == "user"
    assert (user["permalink"], user["username"]) == ("some-artist", "Some Artist")
    assert user["permalink_url"] == "https://soundcloud.com/some-artist"
    assert urn == f"soundcloud:users:{user['id']}"
    assert api.get(f"/users/{user['id']}").json()["urn"] == urn  # the number works too


def test_unknown_user_is_404_but_its_lists_are_empty_200(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    unknown = scsim.unknown_urn()
    assert api.get(f"/users/{unknown}").status_code == 404
    for relation in ("followings", "followers"):
        response = api.get(f"/users/{unknown}/{relation}", params={"linked_partitioning": "true"})
        assert response.status_code == 200
        assert response.json() == {"collection": [], "next_href": None}


def test_deleted_user_vanishes_from_profile_lists_and_other_lists(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    curator, artists = curator_of(scsim, 3)
    scsim.delete(artists[0])
    assert api.get(f"/users/{artists[0]}").status_code == 404
    assert set(walk(api, f"/users/{curator}/followings")[0]) == set(artists[1:])
    scsim.delete(curator)
    assert walk(api, f"/users/{curator}/followings")[0] == []
    scsim.restore(curator)
    assert api.get(f"/users/{curator}").is_success


def test_resolve_redirects_to_the_numeric_user_path(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    urn = scsim.add_user("some-artist", "Some Artist")
    number = scsim.user(urn).id
    for url in ("https://soundcloud.com/some-artist", "https://m.soundcloud.com/Some-Artist/"):
        response = api.get("/resolve", params={"url": url})
        assert response.status_code == 302
        assert response.headers["location"].endswith(f"/users/{number}")
        assert response.json()["location"] == response.headers["location"]
    assert api.get("/resolve", params={"url": "https://soundcloud.com/nobody"}).status_code == 404
    assert api.get("/resolve", params={"url": "https://example.com/some-artist"}).status_code == 404


# -- cursor paging ---------------------------------------------------------------------------


def test_lists_page_by_next_href_newest_first_until_null(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    curator, artists = curator_of(scsim, 450)
    urns, hrefs = walk(api, f"/users/{curator}/followings")
    assert urns == list(reversed(artists)) == scsim.following(curator)
    assert len(hrefs) == 3 and hrefs[-1] is None
    assert all("cursor=" in h and "offset" not in h for h in hrefs[:-1] if h)


def test_the_end_may_be_an_absent_next_href(scsim: SoundCloudSim, api: httpx.Client) -> None:
    scsim.end_style = "absent"
    curator, _ = curator_of(scsim, 5)
    body = api.get(f"/users/{curator}/followings", params={"linked_partitioning": "true"}).json()
    assert "next_href" not in body and len(body["collection"]) == 5


@pytest.mark.parametrize("limit", ["0", "201", "x"])
def test_limit_is_1_to_200(scsim: SoundCloudSim, api: httpx.Client, limit: str) -> None:
    curator, _ = curator_of(scsim, 3)
    response = api.get(f"/users/{curator}/followings", params={"limit": limit})
    assert response.status_code == 400


def test_default_page_is_fifty_and_unlinked_lists_are_bare(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    curator, _ = curator_of(scsim, 60)
    assert len(api.get(f"/users/{curator}/followings").json()) == 50
    linked = api.get(f"/users/{curator}/followings", params={"linked_partitioning": "1"}).json()
    assert len(linked["collection"]) == 50 and linked["next_href"]


def test_keyed_cursor_neither_skips_nor_repeats_when_the_list_changes(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    curator, artists = curator_of(scsim, 300)
    first = api.get(
        f"/users/{curator}/followings", params={"limit": 100, "linked_partitioning": "true"}
    ).json()
    scsim.unfollow(curator, artists[250])  # on the first page (newest first)
    scsim.follow(curator, scsim.add_user("newcomer"))
    rest, _ = walk(api, first["next_href"])
    seen = [u["urn"] for u in first["collection"]] + rest
    assert len(seen) == len(set(seen)) == 300
    assert set(seen) == set(artists)


def test_offset_style_cursor_skips_when_the_list_changes(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    scsim.cursor_style = "offset"
    curator, artists = curator_of(scsim, 300)
    first = api.get(
        f"/users/{curator}/followings", params={"limit": 100, "linked_partitioning": "true"}
    ).json()
    scsim.unfollow(curator, artists[250])
    rest, _ = walk(api, first["next_href"])
    seen = [u["urn"] for u in first["collection"]] + rest
    assert artists[250] in seen  # read before it went
    assert artists[199] not in seen  # shifted onto the first page after it was read: skipped
    assert len(seen) == 299


def test_counts_can_be_broken(scsim: SoundCloudSim, api: httpx.Client) -> None:
    curator, _ = curator_of(scsim, 5)
    assert api.get(f"/users/{curator}").json()["followings_count"] == 5
    scsim.counts_broken = True
    user = api.get(f"/users/{curator}").json()
    assert (user["followings_count"], user["followers_count"]) == (0, 0)
    assert scsim.user(curator).followings_count == 5


# -- traps and faults ------------------------------------------------------------------------


def test_loop_trap_repeats_a_next_href(scsim: SoundCloudSim, api: httpx.Client) -> None:
    scsim.paging_trap = "loop"
    curator, _ = curator_of(scsim, 500)
    params: dict[str, str | int] = {"limit": 100, "linked_partitioning": "true"}
    first = api.get(f"/users/{curator}/followings", params=params).json()
    second = api.get(first["next_href"]).json()
    assert second["next_href"] == first["next_href"]


def test_foreign_trap_points_next_href_at_another_host(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    scsim.paging_trap = "foreign"
    curator, _ = curator_of(scsim, 500)
    params: dict[str, str | int] = {"limit": 100, "linked_partitioning": "true"}
    first = api.get(f"/users/{curator}/followings", params=params).json()
    assert FOREIGN_HOST not in first["next_href"]
    second = api.get(first["next_href"]).json()
    assert second["next_href"].startswith(f"https://{FOREIGN_HOST}/")


def test_cycle_trap_goes_back_to_the_start_under_a_new_url(
    scsim: SoundCloudSim, api: httpx.Client
) -> None:
    scsim.paging_trap = "cycle"
    curator, _ = curator_of(scsim, 500)
    params: dict[str, str | int] = {"limit": 100, "linked_partitioning": "true"}
    first = api.get(f"/users/{curator}/followings", params=params).json()
    second = api.get(first["next_href"]).json()
    third = api.get(second["next_href"]).json()
    assert second["next_href"] != first["next_href"]
    assert [u["urn"] for u in third["collection"]] == [u["urn"] for u in first["collection"]]


@pytest.mark.parametrize("shape", ["code", "error", "text"])
def test_rate_limits_come_in_the_observed_shapes(
    scsim: SoundCloudSim, api: httpx.Client, shape: str
) -> None:
    curator, _ = curator_of(scsim, 2)
    scsim.rate_limit("/followings", shape=shape, headers={"Retry-After": "soon"})  # type: ignore[arg-type]
    response = api.get(f"/users/{curator}/followings")
    assert response.status_code == 429 and response.headers["retry-after"] == "soon"
    if shape == "code":
        assert response.json()["code"] == 429
    elif shape == "error":
        assert response.json() == {"error": "Rate Limit Exceeded"}
    else:
        assert response.text == "Too Many Requests"
    assert api.get(f"/users/{curator}/followings").is_success
