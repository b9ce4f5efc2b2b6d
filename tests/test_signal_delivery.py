"""Signals delivered: real polls fire a `signal.trending`, the outbox carries it, and loopback
receivers get it as a signed webhook envelope or an Apprise message (its json:// service, in
each format a service may ask for)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.receiver import Receiver
from tests.world import AudiusWorld, tastemakers, verified_by
from watcher.clock import parse_iso
from watcher.signals.trending_message import trending_message, when_label, window_phrase
from watcher.sinks.labels import describe
from watcher.sinks.renderers import generic


def trend(world: AudiusWorld, count: int = 2) -> tuple[list[str], str, str]:
    """`count` tastemakers follow a new artist (base 40 followers) in one round: the signal
    fires. Returns the tastemakers, the artist and the round's timestamp."""
    users = tastemakers(world, count)
    (artist,) = world.sim.add_users(1, prefix="newcomer", base_followers=40)
    for user in users:
        world.sim.follow(user, artist)
    at = world.clock.now()
    world.poll_all()
    return users, artist, at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_signal_reaches_its_webhook_as_a_signed_envelope(outbox: AudiusWorld) -> None:
    with Receiver(verified_by()) as rx:
        outbox.webhook("scouts", rx.url("/hook"))
        outbox.signal("scouting", "scouts", min_accounts=2, window="3d")
        users, artist, at = trend(outbox)
        report = outbox.dispatch()

    assert rx.rejections == []
    assert [o.state for o in report.outcomes] == ["delivered"]
    [request] = rx.requests
    envelope = request.json()
    assert request.headers["webhook-id"] == envelope["id"]
    assert envelope["type"] == "signal.trending" and envelope["timestamp"] == at
    artist_user = outbox.sim.user(artist)
    assert envelope["data"] == {
        "signal": "scouting",
        "platform": "audius",
        "target": {
            "id": artist_user.id,
            "handle": artist_user.handle,
            "name": artist_user.name,
            "url": f"https://audius.co/{artist_user.handle}",
            "follower_count": 42,  # 40, and the two tastemakers
            "is_verified": False,
        },
        "accounts": [
            {
                "id": user,
                "handle": f"taste{number}",
                "name": f"Tastemaker {number}",
                "url": f"https://audius.co/taste{number}",
                "followed_at": at,
            }
            for number, user in enumerate(users, start=1)
        ],
        "window_s": 259200,
    }


def test_a_signal_on_chat_names_the_accounts_the_target_and_when(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.apprise("scouts", rx.url("/n", "json"))
        outbox.signal("scouting", "scouts", min_accounts=2)
        _, artist, at = trend(outbox)
        report = outbox.dispatch()

    assert [o.state for o in report.outcomes] == ["delivered"]
    [request] = rx.requests
    handle = outbox.handle(artist)
    day = parse_iso(at).strftime("%a")
    assert request.json()["title"] == f"Audius: 2 watched accounts followed @{handle} this week"
    assert request.json()["message"] == (  # json://: plain text
        f"2 watched accounts followed @{handle} this week: @taste1 ({day}), @taste2 ({day})\n"
        f"@{handle} (Newcomer 0): 42 followers https://audius.co/{handle}\n"
        "Signal: scouting"
    )


def test_a_notifier_of_the_watches_and_the_signal_gets_the_follows_then_the_signal(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as rx:
        outbox.apprise("team", rx.url("/n", "json"))
        outbox.signal("scouting", "team", min_accounts=2)
        users = tastemakers(outbox, 2, "team")
        (artist,) = outbox.sim.add_users(1, prefix="newcomer")
        for user in users:
            outbox.sim.follow(user, artist)
        for index in range(2):  # one watch at a time: the second's poll fires the signal
            outbox.poll(index)
        report = outbox.dispatch()

    assert [o.state for o in report.outcomes] == ["delivered"] * 3
    titles = [request.json()["title"] for request in rx.requests]
    assert titles == [
        "Audius: @taste1 followed 1",
        "Audius: @taste2 followed 1",
        "Audius: 2 watched accounts followed @newcomer_0 this week",
    ]
    labels = [describe([row]) for row in outbox.deliveries()]
    assert labels[-1] == "scouting: @taste1 and @taste2 followed @newcomer_0 (Newcomer 0)"


@pytest.mark.parametrize(
    ("fmt", "expected_title", "expected_body"),
    [
        (
            "text",
            "Audius: 2 watched accounts followed @new\\<b> in 3 days",
            "2 watched accounts followed @new\\<b> in 3 days: @a (Mon), @b (Wed)\n"
            "@new\\<b> (New <b>): 1 follower, verified https://audius.co/new%5C%3Cb%3E\n"
            "Signal: scouting",
        ),
        (
            "html",
            "Audius: 2 watched accounts followed @new\\&lt;b&gt; in 3 days",
            '2 watched accounts followed <a href="https://audius.co/new%5C%3Cb%3E">@new\\&lt;b&gt;'
            '</a> in 3 days: <a href="https://audius.co/a">@a</a> (Mon), <a'
            ' href="https://audius.co/b">@b</a> (Wed)<br>\n'
            "@new\\&lt;b&gt; (New &lt;b&gt;): 1 follower, verified<br>\n"
            "Signal: scouting<br>",
        ),
        (
            "markdown",
            "Audius: 2 watched accounts followed @new\\\\\\<b\\> in 3 days",
            "2 watched accounts followed [@new\\\\\\<b\\>](https://audius.co/new%5C%3Cb%3E) in 3"
            " days: [@a](https://audius.co/a) (Mon), [@b](https://audius.co/b) (Wed)\n"
            "@new\\\\\\<b\\> (New \\<b\\>): 1 follower, verified\n"
            "Signal: scouting",
        ),
    ],
)
def test_the_message_is_escaped_for_each_format_of_other_services(
    fmt: str, expected_title: str, expected_body: str
) -> None:
    envelope = {
        "type": "signal.trending",
        "data": {
            "signal": "scouting",
            "platform": "audius",
            "target": {
                "id": "x",
                "handle": "new\\<b>",
                "name": "New\n<b>",
                "url": "https://audius.co/new\\<b>",
                "follower_count": 1,
                "is_verified": True,
            },
            "accounts": [
                {
                    "handle": "a",
                    "url": "https://audius.co/a",
                    "followed_at": "2026-11-23T10:00:00Z",
                },
                {
                    "handle": "b",
                    "url": "https://audius.co/b",
                    "followed_at": "2026-11-25T10:00:00Z",
                },
            ],
            "window_s": 3 * 86_400,
        },
    }
    assert trending_message(envelope, generic(fmt)) == (expected_title, expected_body)


@pytest.mark.parametrize(
    ("window", "phrase", "label"),
    [
        (7 * 86_400, "this week", "Mon"),
        (86_400, "today", "10:05"),
        (3 * 86_400, "in 3 days", "Mon"),
        (30 * 86_400, "in 30 days", "Nov 23"),
        (36 * 3600, "in 36 hours", "Mon"),
        (3600, "in an hour", "10:05"),
        (6 * 3600, "in 6 hours", "10:05"),
        (90 * 60, "in 90 minutes", "10:05"),
    ],
)
def test_windows_other_than_a_week_are_worded_as_people_say_them(
    window: float, phrase: str, label: str
) -> None:
    monday = datetime(2026, 11, 23, 10, 5).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert window_phrase(window) == phrase
    assert when_label(monday, window) == label
