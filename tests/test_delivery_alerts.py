"""Failure alerts end to end: one message when a watch keeps failing, one when it recovers."""

from __future__ import annotations

from tests.receiver import Receiver
from tests.world import AudiusWorld, curator_following


def test_a_failing_watch_alerts_once_and_says_once_that_it_recovered(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as rx:
        outbox.apprise("team", rx.url("/n", "json"))
        outbox.watch("curator", "team")
        curator, artists = curator_following(outbox)
        outbox.poll()
        outbox.sim.deactivate(curator)
        sent = []
        for _ in range(6):
            assert not outbox.poll().ok
            sent.append(len(outbox.dispatch().outcomes))
        outbox.sim.reactivate(curator)
        outbox.sim.follow(curator, artists[33])
        assert outbox.poll().ok
        outbox.dispatch()
        assert outbox.poll().ok
        outbox.dispatch()

    assert sent == [0, 0, 1, 0, 0, 0]
    titles = [request.json()["title"] for request in rx.requests]
    assert titles == [
        "Audius: watch failing for @curator following (3 polls in a row)",
        "Audius: watch recovered for @curator following",
        "Audius: @curator followed 1",
    ]
    failing, recovered = (request.json()["message"] for request in rx.requests[:2])
    assert "deactivated" in failing and "sends one message when it works again" in failing
    assert "after 6 failed polls" in recovered


def test_a_watch_that_never_resolved_is_named_as_configured(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.apprise("team", rx.url("/n", "json"))
        outbox.watch("nobody_here", "team")
        outbox.defaults["alert_after"] = 2
        for _ in range(3):
            assert not outbox.poll().ok
        outbox.dispatch()

    [request] = rx.requests
    assert request.json()["title"] == (
        "Audius: watch failing for nobody_here following (2 polls in a row)"
    )
