"""The dashboard's pages over HTTP, against databases filled by real polls of the simulators:
what `/`, `/trending`, `/deliveries` and the size charts say, their empty states, and that
no page writes the database."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import httpx
import pytest

from tests.dashboard import Page, serving
from tests.receiver import Receiver
from tests.world import AudiusWorld, SoundCloudWorld, World, curator_following, tastemakers
from watcher import trending_report
from watcher.sim.audius import AudiusSim
from watcher.store import Store
from watcher.web.charts import size_series
from watcher.web.trending_cache import TrendingCache
from watcher.wording import describe_envelope

DAY = 86_400.0


def get(base: str, path: str, **headers: str) -> httpx.Response:
    return httpx.get(base + path, headers=headers, timeout=10, follow_redirects=False)


def size_cells(page: Page) -> dict[str, str]:
    """Each watch row of `/`: its handle -> its size cell."""
    found = {}
    for row in page.rows("watches"):
        handle = re.search(r"@(\S+)", row[0])
        assert handle is not None, row
        found[handle.group(1)] = row[3]
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_overview_shows_each_watch_at_the_size_the_platform_has(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    sim = AudiusSim(seed=seed, replicas=2)
    with sim.serve() as url:
        world = World(sim, url, tmp_path / "watcher.db")
        artists = sim.add_users(60, prefix="artist", base_followers=lambda i: i % 4)
        curators = []
        for number in range(3):
            curator = sim.add_user(f"curator{number}", f"Curator {number}")
            sim.follow_many(curator, rng.sample(artists, rng.randint(3, 45)))
            world.watch(f"curator{number}")
            curators.append(curator)
        world.poll_all()
        for curator in curators:
            for artist in rng.sample(artists, 6):
                (sim.follow if rng.random() < 0.5 else sim.unfollow)(curator, artist)
        world.poll_all()
        world.poll_all()  # the unfollows' absences confirmed
        with serving(world.config(), clock=world.clock) as base:
            page = Page(get(base, "/").text)
        truth = {sim.user(c).handle: sim.user(c).followee_count for c in curators}
    assert size_cells(page) == {handle: f"{count:,}" for handle, count in truth.items()}
    assert "All 3 watches polling" in page.text


def test_overview_words_the_newest_events_as_the_cli_does_newest_first(
    either: AudiusWorld | SoundCloudWorld,
) -> None:
    world = either
    curator, artists = world.curator(12)
    world.watch("curator")
    world.poll()
    for artist in world.sim.add_users(3, prefix="fresh"):
        world.sim.follow(curator, artist)
    world.sim.unfollow(curator, artists[0])
    world.poll()
    world.poll()
    store = world.store()
    try:
        newest_first = [describe_envelope(row.envelope()) for row in store.events.find()][::-1]
    finally:
        store.close()
    with serving(world.config(), clock=world.clock) as base:
        page = Page(get(base, "/").text)
    text = page.text
    assert len(newest_first) == 4
    positions = [text.index(sentence) for sentence in newest_first]
    assert positions == sorted(positions), "newest first"
    assert "4 events recorded" in text
    links = page.attributes("href")
    account_id = world.sim.user(curator).id if world.platform == "audius" else curator
    assert f"/accounts/{world.platform}/{account_id}".replace(":", "%3A") in links


def test_overview_of_nothing_watched_nothing_polled_and_nothing_recorded_says_so(
    audius: AudiusWorld,
) -> None:
    Store.open(audius.db_path).close()  # as `watcher run` or `serve` leave it before serving
    with serving(audius.config(), clock=audius.clock) as base:
        nothing = Page(get(base, "/").text).text
    audius.watch("curator")
    with serving(audius.config(), clock=audius.clock) as base:
        unpolled = Page(get(base, "/").text)
    assert "No [[watch]] in the config yet" in nothing
    assert "No events yet" in nothing and "No target followed by 2+" in nothing
    assert "never polled" in unpolled.text and "no data yet" in unpolled.text
    assert "watch audius curator following: never polled" in unpolled.text  # needs someone
    assert unpolled.all("img") == []  # no chart of a list never read


def test_overview_puts_failing_watches_dead_deliveries_and_disabled_notifiers_first(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as dead, Receiver() as gone:
        outbox.webhook("crm", dead.url("/hook"))
        outbox.webhook("old", gone.url("/hook"))
        curator, artists = curator_following(outbox)
        outbox.watch("curator", "crm", "old")
        outbox.watch("nobody")
        outbox.poll_all()
        outbox.sim.follow(curator, artists[30])
        outbox.poll_all()
        dead.reply(400)
        gone.reply(410)
        outbox.dispatch()
    with serving(outbox.config(), clock=outbox.clock) as base:
        page = Page(get(base, "/").text)
    attention = page.text.split("Quotas")[0]
    assert "4 things need attention" in attention
    assert "watch audius nobody following: failing (2 polls in a row, never successfully)" in (
        attention
    )
    assert "notifier crm: 1 dead delivery" in attention
    assert "notifier old: disabled since" in attention and "410" in attention
    assert "notifier old: 1 dead delivery" in attention  # the 410 buried what it refused
    failed_rows = [row for row in page.rows("watches") if "failed" in row[5]]
    assert len(failed_rows) == 1 and "nobody" in failed_rows[0][0]


def test_overview_shows_quota_use_and_an_interval_the_planner_stretched(
    audius: AudiusWorld,
) -> None:
    curator_following(audius)
    audius.watch("curator")
    audius.defaults["interval"] = "1m"
    audius.settings["requests_per_month"] = 2_000  # a poll a minute needs ~130,000
    audius.poll()
    with serving(audius.config(), clock=audius.clock) as base:
        page = Page(get(base, "/").text)
    store = audius.store()
    try:
        used = store.quotas.used("audius", audius.clock.now()).month
    finally:
        store.close()
    assert f"{used} / 2,000 requests this month ({100 * used / 2000:.1f}%)" in page.text
    assert "intervals stretched to stay within the monthly quota" in page.text
    (row,) = page.rows("watches")
    assert row[7].endswith("(quota; 1m)") and not row[7].startswith("1m ")


def test_a_size_chart_draws_the_last_30_days_and_is_revalidated_by_its_etag(
    audius: AudiusWorld,
) -> None:
    curator, _ = audius.curator(5)
    audius.watch("curator")
    truth = []
    for day in range(40):
        if day:
            audius.clock.advance(DAY - audius.settle)  # a poll a day, at noon
        if day % 3 == 0:
            audius.sim.follow(curator, audius.sim.add_users(1, prefix=f"day{day}")[0])
        audius.poll()
        truth.append(audius.sim.user(curator).followee_count)
    store = audius.store()
    try:
        watch_id = store.watches.all()[0].id
        now = audius.clock.now()
        series = size_series(store, watch_id, now)
    finally:
        store.close()
    assert series == truth[-30:]  # one a day, today's the last poll's
    with serving(audius.config(), clock=audius.clock) as base:
        chart = get(base, f"/charts/watches/{watch_id}/size.svg")
        again = get(
            base, f"/charts/watches/{watch_id}/size.svg", **{"If-None-Match": chart.headers["etag"]}
        )
        missing = get(base, "/charts/watches/999/size.svg")
        page = Page(get(base, "/").text)
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert chart.content.startswith(b"<?xml") and b"<svg" in chart.content
    assert b"<script" not in chart.content and b"href" not in chart.content
    assert again.status_code == 304 and again.content == b""
    assert missing.status_code == 404
    (img,) = page.all("img")
    assert img["src"] == f"/charts/watches/{watch_id}/size.svg"


def test_trending_page_counts_as_watcher_trending_and_checks_its_controls(
    audius: AudiusWorld,
) -> None:
    users = tastemakers(audius, 3)
    target = audius.sim.add_user("newcomer", "New Comer", base_followers=812)
    for user in users[:2]:
        audius.sim.follow(user, target)
    audius.poll_all()
    with serving(audius.config(), clock=audius.clock) as base:
        found = Page(get(base, "/trending?window=7d&min=2").text)
        stricter = Page(get(base, "/trending?window=7d&min=3").text)
        other = Page(get(base, "/trending?platform=soundcloud").text)
        bad = [
            get(base, f"/trending?{q}")
            for q in ("window=2x", "window=400d", "min=0", "min=x", "platform=myspace")
        ]
        overview = Page(get(base, "/").text)
    text = found.text
    followers = audius.sim.user(target).follower_count  # 812 and the two watched follows
    assert "@newcomer" in text and "New Comer" in text and f"{followers:,}" in text
    assert "@taste1" in text and "@taste2" in text and "@taste3" not in text
    assert "No target followed by 3+ watched accounts in the last 7 days." in stricter.text
    assert "No target followed by 2+ watched accounts on soundcloud in the last 7 days." in (
        other.text
    )
    assert [r.status_code for r in bad] == [400] * 5
    assert "window: '2x' is not" in Page(bad[0].text).text
    assert "min: '0' is not a whole number from 1 to 1000" in Page(bad[2].text).text
    assert 'value="2x"' in bad[0].text  # the wrong value stays in the form, to correct it
    assert "@newcomer" in overview.text.split("Trending now")[1]


def test_deliveries_page_shows_each_notifier_and_what_is_not_delivered(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as flaky, Receiver() as dead, Receiver() as chat:
        outbox.webhook("flaky", flaky.url("/hook"))
        outbox.webhook("dead", dead.url("/hook"))
        outbox.apprise("morning", chat.url("/n", "json"), schedule="daily 09:00")
        curator, artists = curator_following(outbox)
        outbox.watch("curator", "flaky", "dead", "morning")
        outbox.poll()
        outbox.sim.follow(curator, artists[30])
        outbox.poll()
        flaky.reply(503, body=b"try later")
        dead.reply(400, body=b"no such hook")
        outbox.dispatch()
    with serving(outbox.config(), clock=outbox.clock) as base:
        waiting = Page(get(base, "/deliveries").text)
        only_dead = Page(get(base, "/deliveries?show=dead").text)
        everything = Page(get(base, "/deliveries?show=all").text)
    notifiers = {row[0]: row for row in waiting.rows("notifiers")}
    assert notifiers["flaky"][5] == "1" and notifiers["dead"][6] == "1"
    assert notifiers["morning"][4] == "1"
    assert "morning holds its messages (digest daily 09:00, UTC): 1 delivery held" in waiting.text
    states = {row[1]: row[3] for row in waiting.rows("outbox")}
    assert states == {"flaky": "retrying", "dead": "dead", "morning": "held"}
    errors = {row[1]: row[7] for row in waiting.rows("outbox")}
    assert "HTTP 503" in errors["flaky"] and "HTTP 400" in errors["dead"]
    assert all(
        row[2] == "@curator followed @artist_30 (Artist 30)" for row in waiting.rows("outbox")
    )
    assert [row[1] for row in only_dead.rows("outbox")] == ["dead"]
    assert len(everything.rows("outbox")) == 3


def test_deliveries_page_without_notifiers_or_deliveries_says_so(audius: AudiusWorld) -> None:
    curator_following(audius)
    audius.watch("curator")
    audius.poll()
    with serving(audius.config(), clock=audius.clock) as base:
        page = Page(get(base, "/deliveries").text)
    assert "No [notifiers.*] in the config" in page.text
    assert "No deliveries yet" in page.text


def test_no_page_writes_the_database(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        curator, artists = curator_following(outbox)
        outbox.watch("curator", "crm")
        outbox.poll()
        outbox.sim.follow(curator, artists[30])
        outbox.poll()
    store = outbox.store()
    store.checkpoint()
    watch_id = store.watches.all()[0].id
    store.close()

    def files() -> dict[str, str]:
        """The database and its log, by content; a log with nothing in it counts as none
        (opening a connection that cannot write may leave an empty one behind)."""
        return {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in outbox.db_path.parent.glob("watcher.db*")
            if path.suffix != ".lock"
            and not path.name.endswith("-shm")
            and not (path.name.endswith("-wal") and path.stat().st_size == 0)
        }

    before = files()
    paths = ["/", "/trending", "/deliveries", "/deliveries?show=all", "/healthz", "/metrics"]
    with serving(outbox.config(), clock=outbox.clock) as base:
        statuses = [
            get(base, p).status_code for p in [*paths, f"/charts/watches/{watch_id}/size.svg"]
        ]
    assert statuses == [200] * 7
    assert files() == before
    reader = Store.open_read_only(outbox.db_path)
    try:
        with pytest.raises(Exception, match="readonly"):
            reader.db.execute("DELETE FROM events")
    finally:
        reader.close()


def test_the_overviews_trending_rows_are_kept_only_while_nothing_could_change_them(
    audius: AudiusWorld,
) -> None:
    users = tastemakers(audius, 3)
    target = audius.sim.add_user("newcomer", "New Comer")
    audius.sim.follow(users[0], target)
    audius.sim.follow(users[1], target)
    audius.poll_all()
    counted = TrendingCache()
    week = 7 * DAY

    def both() -> tuple[list[str], list[str]]:
        store = audius.store()
        try:
            now, config = audius.clock.now(), audius.config()
            kept = counted.rows(config, store, now, window=week, min_accounts=2)
            fresh = trending_report.trending(config, store, now, window=week, min_accounts=2)
        finally:
            store.close()
        return [r.target.handle for r in kept], [r.target.handle for r in fresh]

    moments = [both()]
    other = audius.sim.add_user("second", "Second")
    audius.sim.follow(users[1], other)
    audius.sim.follow(users[2], other)
    audius.poll_all()  # new events: counted again
    moments.append(both())
    audius.clock.advance(week - 2 * audius.settle - 60)  # the first follows nearly a week old
    moments.append(both())
    audius.clock.advance(120)  # they left the window; no event was recorded since
    moments.append(both())
    assert [kept for kept, _ in moments] == [fresh for _, fresh in moments]
    assert [kept for kept, _ in moments] == [
        ["newcomer"],
        ["newcomer", "second"],
        ["newcomer", "second"],
        ["second"],
    ]
