"""`/accounts/{platform}/{id}` over HTTP against real polls of the simulators: the list the
platform has, page by page in each order (walked by its links, against the simulator's
truth over seeds), the list as it stood at a past date, search, mutuals, the history charts,
the canonical address and the 404 of an account not watched."""

from __future__ import annotations

import random
import re
from html import unescape
from urllib.parse import unquote

import httpx
import pytest

from tests.dashboard import Page, serving
from tests.world import AudiusWorld, SoundCloudWorld

DAY = 86_400.0


def get(base: str, path: str) -> httpx.Response:
    return httpx.get(base + path, timeout=10, follow_redirects=False)


def handles(page: Page, table: str = "members") -> list[str]:
    found = []
    for row in page.rows(table):
        match = re.match(r"@(\S+)", row[0])
        assert match is not None, row
        found.append(match.group(1))
    return found


def walk(base: str, path: str) -> tuple[list[str], int]:
    """Every member handle on the pages from `path` on, following `Next page`."""
    seen: list[str] = []
    pages, url = 0, path
    while True:
        response = get(base, url)
        assert response.status_code == 200, url
        page = Page(response.text)
        seen += handles(page)
        pages += 1
        nexts = [a["href"] for a in page.all("a") if a.get("rel") == "next"]
        if not nexts:
            return seen, pages
        url = path.split("?")[0] + unescape(str(nexts[0]))


@pytest.mark.parametrize("seed", [1, 2])
def test_account_page_lists_what_the_platform_has_page_by_page_in_each_order(
    audius: AudiusWorld, seed: int
) -> None:
    rng = random.Random(seed)
    sim = audius.sim
    artists = sim.add_users(40, prefix="artist", base_followers=lambda i: rng.randint(0, 5))
    curator = sim.add_user("curator", "Curator")
    followed = set(rng.sample(artists, 23))
    sim.follow_many(curator, sorted(followed))
    audius.watch("curator")
    audius.poll()
    for artist in rng.sample(artists, 6):
        if artist in followed:
            sim.unfollow(curator, artist)
            followed.discard(artist)
        else:
            sim.follow(curator, artist)
            followed.add(artist)
    audius.poll()
    audius.poll()  # the unfollows confirmed
    account_id = sim.user(curator).id
    users = {sim.user(a).handle: sim.user(a) for a in followed}
    truth = {handle: user.follower_count for handle, user in users.items()}
    path = f"/accounts/audius/{account_id}"
    with serving(audius.config(), clock=audius.clock) as base:
        walked = {s: walk(base, f"{path}?sort={s}&limit=4") for s in ("since", "followers", "name")}
    for sort, (seen, pages) in walked.items():
        assert sorted(seen) == sorted(truth), sort  # every member once
        assert pages == -(-len(truth) // 4), sort
    by_followers = [truth[h] for h in walked["followers"][0]]
    assert by_followers == sorted(by_followers, reverse=True)
    by_name = [users[h].name.casefold() for h in walked["name"][0]]
    assert by_name == sorted(by_name)


def test_account_page_redirects_any_account_form_to_its_id_and_is_404_when_not_watched(
    either: AudiusWorld | SoundCloudWorld,
) -> None:
    world = either
    curator, _ = world.curator(4)
    world.watch("curator")
    world.poll()
    account_id = str(world.sim.user(curator).id) if world.platform == "audius" else curator
    canonical = f"/accounts/{world.platform}/{account_id.replace(':', '%3A')}"
    with serving(world.config(), clock=world.clock) as base:
        moved = get(base, f"/accounts/{world.platform}/%40Curator?sort=name")
        page = get(base, canonical)
        missing = get(base, f"/accounts/{world.platform}/nobody")
        other = get(base, "/accounts/myspace/curator")
        feed = get(base, canonical + "/feed.atom")
    assert moved.status_code == 302
    assert unquote(moved.headers["location"]) == unquote(canonical) + "?sort=name"
    assert page.status_code == 200 and feed.status_code == 200
    assert f'href="{canonical}/feed.atom"' in page.text
    assert "watcher list curator --relation following --format csv" in Page(page.text).text
    assert missing.status_code == 404 and other.status_code == 404
    assert "no watch covers 'nobody' (watched: curator)" in Page(missing.text).text


def test_account_page_shows_the_list_as_it_stood_searches_it_and_its_mutuals(
    audius: AudiusWorld,
) -> None:
    sim = audius.sim
    curator, artists = audius.curator(6)
    sim.add_followers(curator, artists[:3])  # three of them follow back
    audius.watch("curator")
    audius.watch("curator", relation="followers")
    audius.poll_all()
    first_day = audius.clock.now().date().isoformat()
    audius.clock.advance(2 * DAY)
    sim.unfollow(curator, artists[0])
    sim.follow(curator, sim.add_users(1, prefix="later")[0])
    audius.poll_all()
    audius.poll_all()
    path = f"/accounts/audius/{sim.user(curator).id}"
    with serving(audius.config(), clock=audius.clock) as base:
        now = Page(get(base, path).text)
        then = Page(get(base, f"{path}?at={first_day}").text)
        found = Page(get(base, f"{path}?q=TIST_2").text)
        nothing = Page(get(base, f"{path}?q=%25").text)  # a literal %, not a wildcard
        followers = Page(get(base, f"{path}?relation=followers").text)
        early = get(base, f"{path}?at=2001-01-01")
        bad = get(base, f"{path}?sort=size")
        sizes = get(base, "/charts/watches/1/sizes.svg")
        changes = get(base, "/charts/watches/1/changes.svg")
    assert sorted(handles(now)) == [*[f"artist_{i}" for i in range(1, 6)], "later_0"]
    assert sorted(handles(then)) == [f"artist_{i}" for i in range(6)]
    assert handles(found) == ["artist_2"]
    assert "No member's handle or name holds “%”." in nothing.text
    assert sorted(handles(followers)) == ["artist_0", "artist_1", "artist_2"]
    assert sorted(handles(now, "mutuals")) == ["artist_1", "artist_2"]  # artist_0 unfollowed
    assert early.status_code == 200 and "is before watcher's history" in Page(early.text).text
    assert bad.status_code == 400 and "sort: 'size' is not one of" in Page(bad.text).text
    for chart in (sizes, changes):
        assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
        assert b"<script" not in chart.content and b"<svg" in chart.content
    assert [img["src"] for img in now.all("img")] == [
        "/charts/watches/1/sizes.svg",
        "/charts/watches/1/changes.svg",
    ]
