"""Issue 15: `on.soundcloud.com` share links name an account wherever a profile URL does,
resolved once through `/resolve` (API-NOTES: 302 or 404)."""

from __future__ import annotations

import ssl

import httpx
import pytest

from tests.world import SoundCloudWorld
from watcher.config import parse
from watcher.sim.soundcloud import SoundCloudSim

TLS = ssl.create_default_context()


def account_id(sc: SoundCloudWorld) -> str | None:
    store = sc.store()
    try:
        return store.watches.all()[0].account_id
    finally:
        store.close()


def test_the_sim_resolves_share_links_it_made_and_404s_others() -> None:
    sim = SoundCloudSim(seed=1)
    urn = sim.add_user("some-artist")
    link = sim.share_link("some-artist")
    assert link.startswith("https://on.soundcloud.com/") and link != sim.share_link(urn)
    with sim.serve() as base_url, httpx.Client(base_url=base_url, verify=TLS) as api:
        token = api.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("sim-client-id", "sim-client-secret"),
        ).json()["access_token"]
        auth = {"Authorization": f"OAuth {token}"}
        found = api.get("/resolve", params={"url": link}, headers=auth)
        unknown = api.get(
            "/resolve", params={"url": "https://on.soundcloud.com/Nope123"}, headers=auth
        )
    assert found.status_code == 302
    assert found.headers["Location"].endswith(f"/users/{sim.user(urn).id}")
    assert unknown.status_code == 404


@pytest.mark.parametrize("form", ["{link}", "{link}/", "{bare}", "{link}?si=abc&utm_source=x"])
def test_a_watch_named_by_a_share_link_polls_the_right_account(
    sc: SoundCloudWorld, form: str
) -> None:
    curator, _ = sc.curator(30)
    sc.sim.add_user("decoy")  # another account the link must not be taken for
    link = sc.sim.share_link("curator")
    sc.watch(account=form.format(link=link, bare=link.removeprefix("https://")))
    report = sc.poll()
    assert report.ok and report.size == 30
    resolves = [r for r in sc.sim.requests if r.path == "/resolve"]
    assert [r.query["url"] for r in resolves] == [link]
    assert account_id(sc) == curator
    sc.sim.reset_log()
    sc.sim.follow(curator, sc.sim.add_user("newcomer"))
    (event,) = sc.poll().events
    assert event.type == "following.added"
    assert not any(r.path == "/resolve" for r in sc.sim.requests)  # resolved once


def test_an_unknown_share_link_fails_naming_it(sc: SoundCloudWorld) -> None:
    sc.sim.add_user("some-artist")
    link = "https://on.soundcloud.com/Unknown42"
    sc.watch(account=link)
    report = sc.poll()
    assert not report.ok
    assert f"share link '{link}'" in (report.error or "")


def test_a_share_link_answered_with_the_profile_page_resolves_that_page(
    sc: SoundCloudWorld,
) -> None:
    """Should /resolve send a share link to the profile page rather than the API's user, the
    page's permalink is resolved in turn."""
    urn = sc.sim.add_user("some-artist")
    link = "https://on.soundcloud.com/ToThePage1"
    page = {"Location": "https://soundcloud.com/some-artist?utm_source=clipboard"}
    sc.sim.faults.add("/resolve", status=302, body="", headers=page, times=1)
    sc.watch(account=link)
    assert sc.poll().ok
    assert account_id(sc) == urn
    resolves = [r.query["url"] for r in sc.sim.requests if r.path == "/resolve"]
    assert resolves == [link, "https://soundcloud.com/some-artist"]


def test_the_config_accepts_a_share_link_as_an_account(sc: SoundCloudWorld) -> None:
    sc.watch(account="  https://on.soundcloud.com/AbCd123  ")
    config = parse(sc.raw())
    assert config.watch[0].account == "https://on.soundcloud.com/AbCd123"
