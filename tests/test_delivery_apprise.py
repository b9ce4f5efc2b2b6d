"""Poll -> outbox -> real Apprise (its json:// service) -> loopback receivers."""

from __future__ import annotations

import html as html_text
import re

from tests.receiver import Receiver
from tests.world import AudiusWorld, curator_following
from watcher.retry import DELIVERY_DELAYS
from watcher.sinks.apprise_sink import ServiceLimits


def changes(outbox: AudiusWorld) -> list[str]:
    """Baseline, then two follows and one unfollow; returns the three handles."""
    curator, artists = curator_following(outbox)
    outbox.poll()
    outbox.sim.unfollow(curator, artists[0])
    assert outbox.poll().events == []  # missing once: pending
    outbox.sim.follow(curator, artists[30])
    outbox.sim.follow(curator, artists[31])
    assert len(outbox.poll().events) == 3
    return [outbox.sim.user(a).handle for a in (artists[30], artists[31], artists[0])]


def test_a_digest_is_one_message_per_poll_naming_every_change(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.apprise("team", rx.url("/n", "json"))
        outbox.watch("curator", "team")
        handles = changes(outbox)
        report = outbox.dispatch()

    assert [o.state for o in report.outcomes] == ["delivered"]
    assert len(report.outcomes[0].ids) == 3
    [request] = rx.requests
    message = request.json()
    assert message["title"] == "Audius: @curator followed 2, unfollowed 1"
    body = message["message"]
    for handle in handles:
        assert f"https://audius.co/{handle}" in body
        assert f"@{handle}" in body  # json://: plain text, the handle as it is
    assert body.index("Followed (2)") < body.index("Unfollowed (1)")
    assert [row.state for row in outbox.deliveries()] == ["delivered"] * 3


def test_without_digest_each_event_is_its_own_message(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.apprise("team", rx.url("/n", "json"), digest=False)
        outbox.watch("curator", "team")
        changes(outbox)
        report = outbox.dispatch()

    assert report.count("delivered") == 3 and len(report.outcomes) == 3
    titles = sorted(request.json()["title"] for request in rx.requests)
    assert len(titles) == 3
    assert sum("unfollowed" in title for title in titles) == 1


def test_one_failing_url_is_retried_alone(outbox: AudiusWorld) -> None:
    with Receiver() as good, Receiver() as flaky:
        outbox.apprise("team", good.url("/n", "json"), flaky.url("/n", "json"))
        outbox.watch("curator", "team")
        changes(outbox)
        flaky.reply(503)

        first = outbox.dispatch()
        rows = outbox.deliveries()
        outbox.clock.advance(DELIVERY_DELAYS[0])
        second = outbox.dispatch()

    assert [o.state for o in first.outcomes] == ["retrying"]
    error = first.outcomes[0].error or ""
    assert error.startswith("1 of 2 URLs failed: HTTP 503")
    assert f"127.0.0.1:{flaky.port}" in error and f"127.0.0.1:{good.port}" not in error
    assert all(row.state == "pending" and len(row.urls_done) == 1 for row in rows)
    assert [o.state for o in second.outcomes] == ["delivered"]
    assert len(good.requests) == 1  # not sent twice
    assert len(flaky.requests) == 2
    assert good.requests[0].body == flaky.requests[1].body


def test_hostile_display_names_arrive_harmless(outbox: AudiusWorld) -> None:
    sim = outbox.sim
    with Receiver() as md, Receiver() as html, Receiver() as text:
        outbox.apprise(
            "team",
            md.url("/n?format=markdown", "json"),
            html.url("/n?format=html", "json"),
            text.url("/n", "json"),
        )
        outbox.watch("curator", "team")
        curator, _ = curator_following(outbox, count=5)
        outbox.poll()
        for handle, name in (
            ("mass", "@everyone look"),
            ("role", "<@&123456> <!channel>"),
            ("phisher", "[verify your account](https://evil.example/login)"),
            ("breaker", "line\nbreak **bold** \u202egnp.exe"),
        ):
            sim.follow(curator, sim.add_user(handle, name=name))
        outbox.poll()
        report = outbox.dispatch()

    assert report.count("delivered") == 4
    bodies = {
        fmt: rx.requests[0].json()["message"]
        for fmt, rx in (("md", md), ("html", html), ("text", text))
    }
    profiles = [f"https://audius.co/{handle}" for handle in ("mass", "role", "phisher", "breaker")]
    for body in bodies.values():
        assert "\u202e" not in body
        assert len(body.splitlines()) == 5  # a heading and one line per change: no breakouts
        assert all(profile in body for profile in profiles)
    # Markup of services watcher knows nothing of: no ping, and the phisher's link is text.
    for shown in (bodies["md"], html_text.unescape(bodies["html"])):
        # A zero-width space right after the sigil breaks the mention.
        assert re.search(r"<[@#!](?!\u200b)|@(everyone|here)", shown) is None
    assert sorted(re.findall(r"(?<!\\)\]\((?!\\)([^)\s]*)\)", bodies["md"])) == sorted(profiles)
    assert sorted(re.findall(r'href="([^"]*)"', bodies["html"])) == sorted(profiles)
    assert "**bold**" not in bodies["md"] and "\\*\\*bold\\*\\*" in bodies["md"]
    assert "<@&" not in bodies["html"] and "&lt;" in bodies["html"]
    # json:// is data for a program: plain text, each name as written on one line.
    for name in ("(@everyone look)", "(<@&123456> <!channel>)", "(line break **bold** gnp.exe)"):
        assert name in bodies["text"]


def test_a_long_digest_is_split_and_every_change_arrives(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.apprise("team", rx.url("/n", "json"))
        outbox.watch("curator", "team")
        curator, artists = curator_following(outbox, count=1)
        outbox.poll()
        outbox.sim.follow_many(curator, artists[1:31])
        outbox.poll()
        report = outbox.dispatch(apprise_limits=ServiceLimits(body_maxlen=500))

    assert report.count("delivered") == 30
    messages = [request.json()["message"] for request in rx.requests]
    assert len(messages) > 3 and all(len(m) <= 500 for m in messages)
    received = "\n".join(messages)
    for artist in artists[1:31]:
        handle = outbox.sim.user(artist).handle
        assert re.search(rf"@{handle} \(.*\) https://audius\.co/{handle}$", received, re.M)
