"""Digests on a schedule and quiet hours, end to end: polls against the simulator, the outbox in
a real database, real Apprise sending to a `json://` receiver, time on an injected clock.

Every dispatch here is a fresh store and dispatcher on the same database file (as a new
`watcher once` or a restarted daemon is), so "exactly once" is checked across restarts
throughout; the `watcher` command itself runs where a process matters (cron's `once`, a kill
between send and mark).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.commands import run_watcher
from tests.receiver import Receiver, Recorded
from tests.world import SCHEDULE, AudiusWorld, curator_following, dispatch_due, one_event_pending
from watcher.clock import FakeClock, iso
from watcher.config import Config, parse
from watcher.errors import ConfigError
from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.runtime import Runtime
from watcher.sinks.apprise_sink import ServiceLimits
from watcher.sinks.dispatcher import DispatchReport
from watcher.sinks.holding import Hold
from watcher.sinks.message import digest_of_watches_body, digest_of_watches_title
from watcher.sinks.renderers import PLAIN_TEXT, generic
from watcher.sinks.sink import SinkOptions
from watcher.store import PollOutcome, Store
from watcher.store.outbox import Route

ROOT = Path(__file__).resolve().parent.parent
BERLIN = {"timezone": "Europe/Berlin"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def at(world: AudiusWorld, text: str) -> None:
    """Set the world's clock (polls and dispatches read it)."""
    world.clock = FakeClock(utc(text))


def titles(rx: Receiver) -> list[str]:
    return [request.json()["title"] for request in rx.requests]


def handle(world: AudiusWorld, user: str) -> str:
    return world.sim.user(user).handle


# -- on a schedule -----------------------------------------------------------------------------


def test_a_scheduled_digest_goes_out_once_at_its_time_grouped_by_watch_with_counts(
    audius: AudiusWorld,
) -> None:
    world = audius
    at(world, "2026-06-10T05:00:00Z")  # a Wednesday, 07:00 in Berlin
    with Receiver() as rx:
        world.apprise("team", rx.url("/n", "json"), schedule="daily 09:00", **BERLIN)
        curator, artists = curator_following(world)
        scout = world.sim.add_user("scout", "The Scout")
        world.sim.follow_many(scout, artists[:3])
        world.watch("curator", "team")
        world.watch("scout", "team")
        world.poll_all()  # the baselines
        world.sim.unfollow(curator, artists[0])
        world.sim.follow_many(curator, artists[30:32])
        world.sim.follow(scout, artists[32])
        world.poll_all()
        world.poll_all()  # the unfollow confirmed
        held = world.deliveries()
        early = world.dispatch()
        at(world, "2026-06-10T06:59:59Z")
        before = world.dispatch()
        at(world, "2026-06-10T07:00:00Z")  # 09:00 in Berlin (summer time)
        due = world.dispatch()
        again = world.dispatch()

    assert len(held) == 4
    assert {row.next_attempt_at for row in held} == {"2026-06-10T07:00:00Z"}
    assert early.outcomes == [] and before.outcomes == [] and again.outcomes == []
    [sent] = due.outcomes
    assert sent.state == "delivered" and len(sent.ids) == 4
    assert sent.what == "digest of 4 events of 2 accounts"
    [request] = rx.requests
    message = request.json()
    assert message["title"] == "Audius: 4 changes on 2 watches"
    body = message["message"]
    curator_heading = "@curator followed 2, unfollowed 1:"
    scout_heading = "@scout followed 1:"
    assert body.index(curator_heading) < body.index("Unfollowed (1)") < body.index(scout_heading)
    for artist in (artists[30], artists[31], artists[0], artists[32]):
        assert len(re.findall(f"https://audius.co/{handle(world, artist)}$", body, re.M)) == 1
    assert [(r.state, r.attempts, r.delivered_at) for r in world.deliveries()] == [
        ("delivered", 1, "2026-06-10T07:00:00Z")
    ] * 4


def test_events_after_a_digest_wait_for_the_next_one(audius: AudiusWorld) -> None:
    world = audius
    at(world, "2026-06-10T06:50:00Z")
    with Receiver() as rx:
        world.apprise("team", rx.url("/n", "json"), schedule="daily 07:00")
        curator, artists = one_event_pending(world, "team")  # polled at 06:50 and 06:55
        at(world, "2026-06-10T07:00:00Z")
        world.dispatch()
        world.sim.follow(curator, artists[36])
        world.poll()
        world.dispatch()
        at(world, "2026-06-11T07:00:00Z")
        world.dispatch()

    assert titles(rx) == ["Audius: @curator followed 1"] * 2
    assert handle(world, artists[35]) in rx.requests[0].json()["message"]
    assert handle(world, artists[36]) in rx.requests[1].json()["message"]
    assert [(r.next_attempt_at, r.delivered_at) for r in world.deliveries()] == [
        ("2026-06-10T07:00:00Z", "2026-06-10T07:00:00Z"),
        ("2026-06-11T07:00:00Z", "2026-06-11T07:00:00Z"),
    ]


@pytest.mark.parametrize(
    ("saturday", "sunday_nine"),
    [
        ("2026-03-28T12:00:00Z", "2026-03-29T07:00:00Z"),  # the clocks go forward that night
        ("2026-10-24T12:00:00Z", "2026-10-25T08:00:00Z"),  # and back
    ],
)
def test_a_daily_digest_keeps_to_the_local_clock_across_a_dst_change(
    audius: AudiusWorld, saturday: str, sunday_nine: str
) -> None:
    world = audius
    at(world, saturday)
    with Receiver() as rx:
        world.apprise("team", rx.url("/n", "json"), schedule="daily 09:00", **BERLIN)
        one_event_pending(world, "team")
        world.clock = FakeClock(utc(sunday_nine) - timedelta(seconds=1))
        before = world.dispatch()
        at(world, sunday_nine)
        due = world.dispatch()

    assert before.outcomes == []
    assert [o.state for o in due.outcomes] == ["delivered"] and len(rx.requests) == 1


def test_a_digest_of_many_events_is_one_message_split_only_at_the_service_limit(
    tmp_path: Path,
) -> None:
    """More events than a page of due rows (500) still make one digest, split between lines
    where the service's length limit says so; every event arrives."""
    clock = FakeClock(utc("2026-06-10T06:00:00Z"))
    with Receiver() as rx:
        raw = {
            "database": str(tmp_path / "watcher.db"),
            "notifiers": {
                "team": {"type": "apprise", "urls": [rx.url("/n", "json")], "schedule": "0 7 * * *"}
            },
            "watch": [{"platform": "audius", "account": "star", "notify": ["team"]}],
        }
        config = parse(raw)
        commit_follows(config.database_path, clock, 520, Route("team", None, hold=hold_of(config)))
        clock.advance(3600)
        report = dispatch(config, clock, ServiceLimits(body_maxlen=4000))

    [sent] = report.outcomes
    assert sent.state == "delivered" and len(sent.ids) == 520
    assert len(rx.requests) > 5 and {*titles(rx)} == {"Audius: @star followed 520"}
    received = "\n".join(request.json()["message"] for request in rx.requests)
    assert all(re.search(f"https://audius.co/artist_{i}$", received, re.M) for i in range(520))


def test_a_digest_of_several_watches_reads_per_watch_in_every_format() -> None:
    moment = utc("2026-06-10T07:00:00Z")
    curator = Profile("c1", "curator", "Curator", "https://audius.co/curator")
    star = Profile("s1", "star", "Star", "https://audius.co/star")

    def event(account: Profile, relation: str, added: bool, who: str) -> Event:
        target = Profile(f"id-{who}", who, who.title(), f"https://audius.co/{who}")
        return Event.create(
            platform="audius",
            relation="following" if relation == "following" else "followers",
            added=added,
            account=account,
            target=target,
            moment=moment,
        )

    events = [
        event(curator, "following", True, "ava"),
        event(star, "followers", True, "bo"),
        event(curator, "following", False, "cy"),
        event(star, "followers", True, "di"),
    ]
    assert digest_of_watches_title(events, PLAIN_TEXT) == "Audius: 4 changes on 2 watches"
    assert digest_of_watches_body(events, PLAIN_TEXT).splitlines() == [
        "@curator followed 1, unfollowed 1:",
        "Followed (1):",
        "+ @curator followed @ava https://audius.co/ava",
        "",
        "Unfollowed (1):",
        "- @curator unfollowed @cy https://audius.co/cy",
        "",
        "@star gained 2 followers:",
        "New followers (2):",
        "+ @bo https://audius.co/bo started following @star",
        "+ @di https://audius.co/di started following @star",
    ]
    html = digest_of_watches_body(events, generic("html")).splitlines()
    assert html[0] == "<b>@curator followed 1, unfollowed 1</b><br>"
    assert "<b>@star gained 2 followers</b><br>" in html
    markdown = digest_of_watches_body(events, generic("markdown")).splitlines()
    assert markdown[0] == "**@curator followed 1, unfollowed 1**"
    # One watch: the digest of a poll, word for word.
    assert digest_of_watches_title(events[:1], PLAIN_TEXT) == "Audius: @curator followed 1"
    assert digest_of_watches_body(events[1:2], PLAIN_TEXT) == (
        "New followers (1):\n+ @bo https://audius.co/bo started following @star"
    )


# -- watcher once from cron, a kill between send and mark, a daemon that was down ---------------


def test_watcher_once_sends_a_digest_that_fell_due_since_its_last_run_and_not_before(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    outbox.clock = FakeClock(now - timedelta(days=1))  # the events were polled yesterday
    fell_due = f"daily {now - timedelta(hours=23):%H:%M}"
    tomorrow = now + timedelta(days=1)
    not_yet = f"weekly {tomorrow:%a %H:%M}".lower()
    with Receiver() as morning, Receiver() as weekly:
        outbox.apprise("morning", morning.url("/n", "json"), schedule=fell_due)
        outbox.apprise("weekly", weekly.url("/n", "json"), schedule=not_yet)
        one_event_pending(outbox, "morning", "weekly")
        config = outbox.write_config(tmp_path / "watcher.toml")
        first = run_watcher(config, "once")
        second = run_watcher(config, "once")
        listing = run_watcher(config, "deliveries")
        as_json = run_watcher(config, "deliveries", "--json")
        status = run_watcher(config, "status")

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "delivered to morning [1]: @curator followed @artist_35 (Artist 35)" in first.stdout
    assert "delivered" not in second.stdout
    assert len(morning.requests) == 1 and weekly.requests == []
    due = (tomorrow - timedelta(seconds=tomorrow.second)).strftime("%Y-%m-%dT%H:%M:%SZ")
    [held_row] = [line for line in listing.stdout.splitlines() if line.startswith("2 ")]
    assert held_row.split()[1] == "weekly" and held_row.split()[-4:] == ["held", "0", due, "-"]
    hold = f"weekly holds its messages (digest {not_yet}, UTC)"
    line = f"{hold}: 1 delivery held for the digest at {due} ({tomorrow:%a %H:%M} UTC)"
    assert line in listing.stdout.splitlines()
    rows = [json.loads(row) for row in as_json.stdout.splitlines()]
    assert [(row["notifier"], row["held_until"]) for row in rows] == [
        ("morning", None),
        ("weekly", due),
    ]
    [weekly_row] = [row for row in status.stdout.splitlines() if row.startswith("weekly  ")]
    assert weekly_row.split() == ["weekly", "apprise", "ok", "0", "1", "0", "0", "0"]
    assert line in status.stdout.splitlines()
    assert "deliveries: 0 pending, 1 held for digests, 0 dead" in status.stderr
    assert f"morning holds its messages (digest {fell_due}, UTC): none held now" in status.stdout


def test_a_digest_whose_send_was_killed_before_its_mark_is_sent_again_whole_and_marked_once(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    arrived = threading.Event()

    def check(request: Recorded) -> None:
        arrived.set()

    now = datetime.now(UTC).replace(microsecond=0)
    outbox.clock = FakeClock(now - timedelta(days=1))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with Receiver(check=check) as rx:
        release = rx.hold()  # the first send gets no answer until the process is dead
        outbox.apprise("team", rx.url("/n", "json"), schedule=f"daily {now:%H:%M}")
        curator, artists = one_event_pending(outbox, "team")
        outbox.sim.follow(curator, artists[36])
        outbox.poll()
        config = outbox.write_config(tmp_path / "watcher.toml")
        first = subprocess.Popen(
            [sys.executable, "-m", "watcher", "once", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert arrived.wait(timeout=30), "the digest never arrived"
        finally:
            first.kill()
            first.wait(timeout=10)
        release.set()
        rerun = run_watcher(config, "once")
        third = run_watcher(config, "once")

    assert first.returncode == -9
    assert rerun.returncode == 0, rerun.stderr
    assert "delivered to team [1,2]: 2 events of @curator" in rerun.stdout
    assert "delivered" not in third.stdout
    assert len(rx.requests) == 2 and rx.requests[0].body == rx.requests[1].body
    assert rx.requests[0].json()["title"] == "Audius: @curator followed 2"
    assert [(row.state, row.attempts) for row in outbox.deliveries()] == [("delivered", 1)] * 2


def test_a_daemon_that_was_down_sends_the_digest_that_fell_due_when_it_starts(
    outbox: AudiusWorld,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    outbox.clock = FakeClock(now - timedelta(days=1))
    arrivals = threading.Event()

    async def scenario() -> None:
        async with outbox.daemon():
            await asyncio.to_thread(arrivals.wait, 10)

    with Receiver(check=lambda request: arrivals.set()) as rx:
        outbox.apprise("team", rx.url("/n", "json"), schedule=f"daily {now:%H:%M}")
        one_event_pending(outbox, "team")
        asyncio.run(scenario())

    assert titles(rx) == ["Audius: @curator followed 1"]
    assert [row.state for row in outbox.deliveries()] == ["delivered"]


# -- quiet hours ---------------------------------------------------------------------------------


def test_quiet_hours_hold_messages_until_the_window_ends_then_send_one_digest(
    audius: AudiusWorld,
) -> None:
    world = audius
    at(world, "2026-01-15T20:50:00Z")  # 21:50 in Berlin
    with Receiver() as rx:
        world.apprise("team", rx.url("/n", "json"), quiet_hours="22:00-08:00", **BERLIN)
        curator, artists = curator_following(world)
        world.watch("curator", "team")
        world.poll()
        world.sim.follow(curator, artists[30])
        world.poll()  # 20:55: not quiet yet
        evening = world.dispatch()
        at(world, "2026-01-15T21:00:00Z")  # 22:00: quiet
        for artist in artists[31:34]:
            world.sim.follow(curator, artist)
            world.poll()  # three polls through the night
        at(world, "2026-01-16T02:00:00Z")
        night = world.dispatch()
        at(world, "2026-01-16T06:59:59Z")
        dawn = world.dispatch()
        at(world, "2026-01-16T07:00:00Z")  # 08:00: the window ends
        morning = world.dispatch()
        world.sim.follow(curator, artists[34])
        world.poll()
        day = world.dispatch()

    sends = [len(report.outcomes) for report in (evening, night, dawn, morning, day)]
    assert sends == [1, 0, 0, 1, 1]
    assert titles(rx) == [
        "Audius: @curator followed 1",
        "Audius: @curator followed 3",  # the night's three polls, one message
        "Audius: @curator followed 1",
    ]
    night_body = rx.requests[1].json()["message"]
    assert all(handle(world, artist) in night_body for artist in artists[31:34])


def test_alerts_pass_quiet_hours_unless_quiet_alerts_holds_them_to_the_end(
    audius: AudiusWorld,
) -> None:
    world = audius
    at(world, "2026-01-15T22:00:00Z")  # 23:00 in Berlin
    world.defaults["alert_after"] = 2
    with Receiver() as loud, Receiver() as strict:
        world.apprise("loud", loud.url("/n", "json"), quiet_hours="22:00-08:00", **BERLIN)
        world.apprise(
            "strict",
            strict.url("/n", "json"),
            quiet_hours="22:00-08:00",
            quiet_alerts=True,
            **BERLIN,
        )
        curator, _ = curator_following(world)
        world.watch("curator", "loud", "strict")
        world.poll()
        world.sim.deactivate(curator)
        assert not world.poll().ok and not world.poll().ok  # two failures: the alert
        night = world.dispatch()
        at(world, "2026-01-16T07:00:00Z")
        morning = world.dispatch()

    failing = "Audius: watch failing for @curator following (2 polls in a row)"
    assert [o.notifier for o in night.outcomes] == ["loud"] and titles(loud) == [failing]
    assert [o.notifier for o in morning.outcomes] == ["strict"] and titles(strict) == [failing]


# -- changing the settings -------------------------------------------------------------------


def test_a_changed_schedule_moves_held_events_to_its_next_digest_none_lost_or_doubled(
    audius: AudiusWorld,
) -> None:
    world = audius
    at(world, "2026-06-08T10:00:00Z")  # a Monday
    with Receiver() as rx:
        world.apprise("team", rx.url("/n", "json"), schedule="daily 09:00")
        curator, artists = one_event_pending(world, "team")  # held for Tuesday 09:00
        world.notifiers["team"]["schedule"] = "weekly fri 18:00"
        moved = world.dispatch()  # the first dispatch with the new config
        world.sim.follow(curator, artists[36])
        world.poll()
        dues = {row.next_attempt_at for row in world.deliveries()}
        at(world, "2026-06-09T09:00:00Z")
        tuesday = world.dispatch()
        at(world, "2026-06-12T18:00:00Z")
        friday = world.dispatch()
        later = world.dispatch()

    assert moved.outcomes == [] and tuesday.outcomes == [] and later.outcomes == []
    assert [len(o.ids) for o in friday.outcomes] == [2]
    assert dues == {"2026-06-12T18:00:00Z"}
    assert titles(rx) == ["Audius: @curator followed 2"]
    assert [(r.state, r.attempts) for r in world.deliveries()] == [("delivered", 1)] * 2


def test_removing_the_schedule_sends_what_it_held_at_once_as_one_digest(
    audius: AudiusWorld,
) -> None:
    world = audius
    at(world, "2026-06-08T10:00:00Z")
    with Receiver() as rx:
        world.apprise("team", rx.url("/n", "json"), schedule="daily 09:00")
        curator, artists = one_event_pending(world, "team")
        world.sim.follow(curator, artists[36])
        world.poll()  # a second poll's event, held for the same digest
        del world.notifiers["team"]["schedule"]
        report = world.dispatch()

    assert [len(o.ids) for o in report.outcomes] == [2]
    assert titles(rx) == ["Audius: @curator followed 2"]


def test_a_reloaded_daemon_places_held_events_by_the_new_settings(audius: AudiusWorld) -> None:
    """The SIGHUP path: the same runtime and dispatcher take the new config."""
    world = audius
    at(world, "2026-06-08T10:00:00Z")
    with Receiver() as rx:
        world.apprise("team", rx.url("/n", "json"), schedule="daily 09:00")
        one_event_pending(world, "team")
        store = Store.open(world.db_path)

        async def reload_then_dispatch() -> tuple[int, int, int]:
            runtime = Runtime(world.config(), store, clock=world.clock)
            dispatcher = runtime.open_dispatcher(
                clock=world.clock, schedule=SCHEDULE, options=SinkOptions(throttle=False)
            )
            try:
                before = len((await dispatcher.dispatch()).outcomes)
                world.notifiers["team"]["schedule"] = "daily 11:00"
                runtime.reconfigure(world.config())
                moved = len((await dispatcher.dispatch()).outcomes)
                world.clock.advance(3600)  # 11:10
                after = len((await dispatcher.dispatch()).outcomes)
                return before, moved, after
            finally:
                await runtime.aclose()

        try:
            counts = asyncio.run(reload_then_dispatch())
        finally:
            store.close()

    assert counts == (0, 0, 1)
    assert len(rx.requests) == 1
    [row] = world.deliveries()
    assert (row.state, row.next_attempt_at) == ("delivered", "2026-06-08T11:00:00Z")


def test_a_removed_notifier_buries_what_it_held_at_once(audius: AudiusWorld) -> None:
    world = audius
    at(world, "2026-06-08T10:00:00Z")
    world.apprise("team", "json://127.0.0.1:9/n", schedule="daily 09:00")
    world.apprise("other", "json://127.0.0.1:9/n")
    one_event_pending(world, "team")
    del world.notifiers["team"]
    world.watches[0]["notify"] = ["other"]
    report = world.dispatch()

    assert [(o.notifier, o.state) for o in report.outcomes] == [("team", "dead")]
    assert "notifier 'team' is no longer in the config" in (report.outcomes[0].error or "")


# -- the config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"schedule": "hourly"}, "notifiers.team.schedule: 'hourly' is not a schedule: use"),
        ({"schedule": "daily 9am"}, "notifiers.team.schedule: '9am' is not a daily time HH:MM"),
        ({"schedule": "0 9 * * mon-xyz"}, "notifiers.team.schedule: cron day of week"),
        ({"schedule": 9}, "notifiers.team.schedule: must be a string (got 9)"),
        (
            {"schedule": "daily 09:00", "timezone": "Europe/Berln"},
            "notifiers.team.timezone: unknown time zone 'Europe/Berln': use an IANA name",
        ),
        ({"quiet_hours": "22-08"}, "notifiers.team.quiet_hours: '22' is not a start time HH:MM"),
        ({"quiet_hours": "08:00-08:00"}, "notifiers.team.quiet_hours: '08:00-08:00' is an empty"),
        (
            {"quiet_alerts": True},
            "notifiers.team: quiet_alerts: holds alerts during quiet_hours, which are not set",
        ),
    ],
)
def test_a_schedule_or_quiet_hours_that_cannot_work_is_one_line_naming_the_key(
    settings: dict[str, object], problem: str
) -> None:
    raw = {
        "notifiers": {"team": {"type": "apprise", "urls": ["json://127.0.0.1:9/n"], **settings}},
        "watch": [{"platform": "audius", "account": "curator", "notify": ["team"]}],
    }
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    message = str(caught.value)
    assert problem in message and "\n" not in message, message


def test_webhooks_take_no_schedule_and_a_bad_one_stops_the_command(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(
        'database = "w.db"\n[notifiers.crm]\ntype = "webhook"\nurl = "https://h/x"\n'
        'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\nschedule = "daily 09:00"\n'
        '[[watch]]\nplatform = "audius"\naccount = "curator"\nnotify = ["crm"]\n',
        encoding="utf-8",
    )
    result = run_watcher(path, "status")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"watcher: config error: {path}: notifiers.crm.schedule: unknown key"
    ]


# -- helpers ---------------------------------------------------------------------------------


def hold_of(config: Config) -> Hold | None:
    return config.notifiers["team"].hold()


def commit_follows(db_path: Path, clock: FakeClock, count: int, route: Route) -> None:
    """One poll's `count` follows by `star`, recorded as a poll records them."""
    now = iso(clock.now())
    store = Store.open(db_path)
    try:
        watch = store.watches.ensure("audius:star:following", "audius", "star", "following", now)
        star = Profile("s1", "star", "Star", "https://audius.co/star", 10, count)
        events = [
            Event.create(
                platform="audius",
                relation="following",
                added=True,
                account=star,
                target=Profile(
                    f"t{i}", f"artist_{i}", f"Artist {i}", f"https://audius.co/artist_{i}"
                ),
                moment=clock.now(),
            )
            for i in range(count)
        ]
        outcome = PollOutcome(
            watch_id=watch.id,
            started_at=now,
            finished_at=now,
            duration_ms=1,
            account=star,
            events=events,
            routes=[route],
        )
        store.polls.commit("audius", outcome)
    finally:
        store.close()


def dispatch(config: Config, clock: FakeClock, limits: ServiceLimits) -> DispatchReport:
    store = Store.open(config.database_path)
    try:
        options = SinkOptions(throttle=False, limits=limits)
        return asyncio.run(dispatch_due(config, store, clock, options=options))
    finally:
        store.close()
