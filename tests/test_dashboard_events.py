"""`/events` over HTTP against logs written by real polls of the simulators: newest first, its
pages walked both ways by their links (nothing missed, nothing twice), its filters (account
in any form, type, dates) against the log itself, and what it says to a filter it cannot
use."""

from __future__ import annotations

import random
from html import unescape
from typing import Any

import httpx
import pytest

from tests.dashboard import Page, serving
from tests.world import AudiusWorld, SoundCloudWorld, World, tastemakers
from watcher.store import EventRow, Store
from watcher.wording import describe_envelope

DAY = 86_400.0


def get(base: str, path: str) -> httpx.Response:
    return httpx.get(base + path, timeout=10, follow_redirects=False)


def busy_days(world: World[Any], seed: int, days: int = 4) -> list[str]:
    """Three tastemakers following and unfollowing at random, polled once a day."""
    rng = random.Random(seed)
    users = tastemakers(world, 3)
    pool = world.sim.add_users(30, prefix="pool")
    for _ in range(days):
        world.clock.advance(DAY)
        for user in users:
            for target in rng.sample(pool, rng.randint(1, 4)):
                world.sim.follow(user, target)
            if rng.random() < 0.5:
                world.sim.unfollow(user, rng.choice(pool))
        world.poll_all()
        world.poll_all()  # the day's unfollows confirmed
    return users


def logged(world: World[Any]) -> list[EventRow]:
    """Every event, newest first, as the store has them."""
    store = world.store()
    try:
        return store.events.find()[::-1]
    finally:
        store.close()


def sentences(page: Page) -> list[str]:
    return [row[2] for row in page.rows("events")]


def link(page: Page, rel: str) -> str | None:
    found = [a["href"] for a in page.all("a") if a.get("rel") == rel]
    return unescape(str(found[0])) if found else None


def walk(base: str, start: str, rel: str) -> tuple[list[str], list[str]]:
    """Follow the `rel` links from `start`: every row's sentence, and every URL visited."""
    seen: list[str] = []
    urls: list[str] = []
    url: str | None = start
    while url is not None:
        response = get(base, url)
        assert response.status_code == 200, url
        page = Page(response.text)
        seen += sentences(page)
        urls.append(url)
        url = link(page, rel)
    return seen, urls


def described(row: EventRow) -> str:
    kind = "signal" if row.type.startswith("signal.") else row.type.split(".")[1]
    badge = {"added": "follow", "removed": "unfollow"}.get(kind, kind)
    return f"{badge} {describe_envelope(row.envelope())}"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_events_pages_walk_the_whole_log_newest_first_both_ways(
    audius: AudiusWorld, seed: int
) -> None:
    busy_days(audius, seed)
    truth = [described(row) for row in logged(audius)]
    with serving(audius.config(), clock=audius.clock) as base:
        down, urls = walk(base, "/events?limit=7", "next")
        up, _ = walk(base, urls[-1], "prev")
        first = Page(get(base, "/events").text)
    assert len(truth) > 14  # several pages
    assert down == truth  # newest first, nothing missed, nothing twice
    pages = [truth[start : start + 7] for start in range(0, len(truth), 7)]
    assert up == [line for page in pages[::-1] for line in page]  # the same pages, upwards
    assert link(first, "prev") is None
    assert all("before=" in url for url in urls[1:])  # a cursor, never an offset


def test_events_filters_by_account_in_any_form_type_and_date_and_pages_keep_them(
    either: AudiusWorld | SoundCloudWorld,
) -> None:
    world = either
    users = busy_days(world, 5)
    rows = logged(world)
    taste1 = world.handle(users[0])
    profile = f"{world.platform}.{'co' if world.platform == 'audius' else 'com'}/{taste1}"
    second_day = sorted({row.timestamp[:10] for row in rows})[1]
    with serving(world.config(), clock=world.clock) as base:
        by_handle, _ = walk(base, f"/events?account=%40{taste1.upper()}&limit=3", "next")
        by_url, urls = walk(base, f"/events?account=https://{profile}&limit=3", "next")
        removed = Page(get(base, "/events?type=following.removed").text)
        following = Page(get(base, "/events?type=following").text)
        one_day = Page(get(base, f"/events?from={second_day}&to={second_day}").text)
    mine = [described(r) for r in rows if r.account_handle == taste1]
    assert by_handle == mine and by_url == mine and len(mine) > 3
    assert all(f"account=https%3A%2F%2F{profile.replace('/', '%2F')}" in u for u in urls[1:])
    assert sentences(removed) == [described(r) for r in rows if r.type == "following.removed"]
    assert len(sentences(following)) == len(rows)  # every event here is a following one
    assert sentences(one_day) == [described(r) for r in rows if r.timestamp[:10] == second_day]
    assert 0 < len(sentences(one_day)) < len(rows)
    assert f'value="{second_day}"' in one_day.html  # the form keeps what was asked


def test_events_rows_link_the_watched_account_to_its_page_and_say_when_exactly(
    audius: AudiusWorld,
) -> None:
    users = busy_days(audius, 2, days=1)
    with serving(audius.config(), clock=audius.clock) as base:
        page = Page(get(base, "/events").text)
    account_id = audius.sim.user(users[0]).id
    assert f"/accounts/audius/{account_id}" in page.attributes("href")
    exact = [str(t["title"]) for t in page.all("time") if "title" in t]
    assert len(exact) == len(page.rows("events")) > 0  # each row's time, exact on hover
    assert all(title.endswith(" UTC") for title in exact)
    assert "ago" in page.text and "Data read at" in page.text
    assert all(row[1] == "Audius" for row in page.rows("events"))


def test_events_page_says_what_it_cannot_filter_by_and_what_is_empty(
    audius: AudiusWorld,
) -> None:
    Store.open(audius.db_path).close()  # as `watcher serve` leaves it before serving
    with serving(audius.config(), clock=audius.clock) as base:
        nothing = Page(get(base, "/events").text)
    busy_days(audius, 3, days=1)
    with serving(audius.config(), clock=audius.clock) as base:
        unwatched = get(base, "/events?account=nobody")
        bad = {q: get(base, f"/events?{q}") for q in ("type=likes", "from=yesterday", "before=x")}
        none_match = Page(get(base, "/events?from=2031-01-01").text)
    assert "No events yet" in nothing.text
    assert unwatched.status_code == 200
    assert "no watch covers 'nobody' (watched: taste1, taste2, taste3)" in (
        Page(unwatched.text).text
    )
    assert [r.status_code for r in bad.values()] == [400, 400, 400]
    assert (
        "type: 'likes' is not one of following, follower, signal"
        in Page(bad["type=likes"].text).text
    )
    assert "from: 'yesterday' is not a date" in Page(bad["from=yesterday"].text).text
    assert "No events match these filters." in none_match.text
