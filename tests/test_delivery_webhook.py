"""Poll -> outbox -> signed webhook, end to end: simulated Audius, real SQLite, real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from standardwebhooks import Webhook

from tests.receiver import Receiver
from tests.world import SECRET, AudiusWorld, curator_following, one_event_pending, verified_by
from watcher.clock import parse_iso
from watcher.retry import DELIVERY_DELAYS
from watcher.sinks.dispatch_lock import DispatchLock, lock_path_for
from watcher.sinks.webhook import sign


def follow_two_unfollow_one(outbox: AudiusWorld) -> tuple[str, list[str]]:
    """Baseline, then a poll that sees two follows and confirms one unfollow (three events)."""
    curator, artists = curator_following(outbox)
    outbox.poll()
    outbox.sim.unfollow(curator, artists[0])
    assert outbox.poll().events == []  # missing once: pending
    outbox.sim.follow(curator, artists[30])
    outbox.sim.follow(curator, artists[31])
    report = outbox.poll()
    assert report.ok and len(report.events) == 3
    return curator, artists


def test_the_test_secret_signs_the_specifications_published_vector() -> None:
    moment = datetime.fromtimestamp(1614265330, UTC)
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    payload = '{"test": 2432232314}'

    assert sign(secret=SECRET, event_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=moment,
                body=payload) == expected  # fmt: skip
    assert Webhook(SECRET).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", moment, payload) == expected


def test_every_event_reaches_the_webhook_signed_once_each(outbox: AudiusWorld) -> None:
    with Receiver(check=verified_by()) as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        follow_two_unfollow_one(outbox)

        report = outbox.dispatch()

    assert rx.rejections == []
    assert report.count("delivered") == 3
    bodies = [request.json() for request in rx.requests]
    assert sorted(body["type"] for body in bodies) == [
        "following.added",
        "following.added",
        "following.removed",
    ]
    for request, body in zip(rx.requests, bodies, strict=True):
        assert request.headers["webhook-id"] == body["id"]
        assert request.headers["content-type"] == "application/json"
    store = outbox.store()
    try:
        assert sorted(r.id for r in store.events.find()) == sorted(b["id"] for b in bodies)
    finally:
        store.close()
    assert [row.state for row in outbox.deliveries()] == ["delivered"] * 3
    assert outbox.dispatch().outcomes == []  # nothing is sent twice


def test_the_baseline_and_quiet_polls_send_nothing(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        curator_following(outbox)
        outbox.poll()
        outbox.poll()
        outbox.dispatch()

    assert rx.requests == []
    assert outbox.deliveries() == []


def test_a_receiver_down_then_up_gets_each_event_once_with_the_same_id(
    outbox: AudiusWorld,
) -> None:
    with Receiver(check=verified_by()) as rx:
        outbox.webhook("crm", rx.url("/hook"))
        one_event_pending(outbox, "crm")
        rx.reply(503)

        first = outbox.dispatch()
        outbox.clock.advance(DELIVERY_DELAYS[0] - 1)
        early = outbox.dispatch()
        outbox.clock.advance(1)
        second = outbox.dispatch()
        outbox.clock.advance(DELIVERY_DELAYS[1])
        third = outbox.dispatch()

    assert [o.state for o in first.outcomes] == ["retrying"]
    assert early.outcomes == []
    assert [o.state for o in second.outcomes] == ["delivered"]
    assert third.outcomes == []
    assert [r.headers["webhook-id"] for r in rx.requests] == [rx.requests[0].json()["id"]] * 2
    assert rx.requests[0].body == rx.requests[1].body
    [row] = outbox.deliveries()
    assert (row.state, row.attempts, row.last_error) == ("delivered", 2, None)


def test_events_filter_sends_only_the_wanted_types(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"), events=["following.removed"])
        outbox.watch("curator", "crm")
        follow_two_unfollow_one(outbox)
        outbox.dispatch()

    assert [r.json()["type"] for r in rx.requests] == ["following.removed"]
    assert len(outbox.deliveries()) == 1


def test_retry_after_is_honoured_and_the_receiver_is_not_asked_again_meanwhile(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        follow_two_unfollow_one(outbox)
        rx.reply(429, {"Retry-After": "120"})
        started = outbox.clock.now()

        report = outbox.dispatch()
        asked = len(rx.requests)
        outbox.clock.advance(119)
        meanwhile = outbox.dispatch()
        outbox.clock.advance(1)
        after = outbox.dispatch()

    assert asked == 1  # one 429, and the other two deliveries wait with it
    assert [o.state for o in report.outcomes] == ["retrying", "postponed", "postponed"]
    due = {o.next_attempt_at for o in report.outcomes}
    assert len(due) == 1
    moment = due.pop()
    assert moment is not None
    assert (parse_iso(moment) - started).total_seconds() == 120  # not the schedule's 5 s
    assert meanwhile.outcomes == []
    assert after.count("delivered") == 3
    assert len(rx.requests) == 4
    ids = [r.headers["webhook-id"] for r in rx.requests]
    assert ids[0] in ids[1:] and len(set(ids)) == 3
    rows = outbox.deliveries()
    assert sorted(row.attempts for row in rows) == [1, 1, 2]  # postponing is not an attempt


def test_a_delivery_is_dead_after_the_whole_schedule_and_can_be_replayed(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        one_event_pending(outbox, "crm")
        for _ in range(len(DELIVERY_DELAYS) + 1):
            rx.reply(502)
        states = []
        for wait in (0, *DELIVERY_DELAYS):
            outbox.clock.advance(wait)
            states += [o.state for o in outbox.dispatch().outcomes]
        outbox.clock.advance(DELIVERY_DELAYS[-1] * 10)
        later = outbox.dispatch()

        [dead] = outbox.deliveries("dead")
        store = outbox.store()
        try:
            assert store.outbox.requeue([dead.id], "2000-01-01T00:00:00Z") == [dead.id]
        finally:
            store.close()
        replay = outbox.dispatch()

    assert states == ["retrying"] * len(DELIVERY_DELAYS) + ["dead"]
    assert later.outcomes == []
    assert dead.attempts == len(DELIVERY_DELAYS) + 1
    assert dead.last_status == 502
    assert dead.last_error is not None and dead.last_error.startswith("gave up after 8 attempts")
    assert [o.state for o in replay.outcomes] == ["delivered"]
    assert len({r.headers["webhook-id"] for r in rx.requests}) == 1
    assert len(rx.requests) == len(DELIVERY_DELAYS) + 2


def test_a_permanent_refusal_is_dead_at_once(outbox: AudiusWorld) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        one_event_pending(outbox, "crm")
        rx.reply(400)
        report = outbox.dispatch()

    [outcome] = report.outcomes
    assert outcome.state == "dead" and report.needs_attention
    assert outcome.error is not None and "HTTP 400" in outcome.error


def test_410_gone_disables_the_notifier_and_nothing_more_is_sent(outbox: AudiusWorld) -> None:
    with Receiver() as gone, Receiver() as chat:
        outbox.webhook("crm", gone.url("/hook"))
        outbox.apprise("team", chat.url("/n", "json"))
        outbox.watch("curator", "crm", "team")
        follow_two_unfollow_one(outbox)
        gone.reply(410)

        report = outbox.dispatch()
        outbox.sim.unfollow(outbox.sim.id_of("curator"), outbox.sim.id_of("artist_2"))
        outbox.poll()  # pending
        outbox.poll()  # confirmed: one more event
        after = outbox.dispatch()

    assert len(gone.requests) == 1
    crm = [o for o in report.outcomes if o.notifier == "crm"]
    assert [o.state for o in crm] == ["dead", "dead", "dead"] and crm[0].disabled
    assert [o.state for o in after.outcomes if o.notifier == "crm"] == ["dead"]
    assert len(chat.requests) == 2  # the other notifier is unaffected
    store = outbox.store()
    try:
        since, reason = store.notifiers.disabled()["crm"]
    finally:
        store.close()
    assert "410" in reason and since == outbox.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_notifier_removed_from_the_config_leaves_its_rows_dead_not_stuck(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        follow_two_unfollow_one(outbox)
        outbox.watches[0]["notify"] = []
        del outbox.notifiers["crm"]
        report = outbox.dispatch()

    assert rx.requests == []
    assert [o.state for o in report.outcomes] == ["dead"] * 3
    assert all("no longer in the config" in (o.error or "") for o in report.outcomes)


def test_alert_payloads_are_signed_envelopes_too(outbox: AudiusWorld) -> None:
    with Receiver(check=verified_by()) as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        outbox.defaults["alert_after"] = 1
        curator, _ = curator_following(outbox)
        outbox.poll()
        outbox.sim.deactivate(curator)
        outbox.poll()
        outbox.dispatch()

    assert rx.rejections == []
    [request] = rx.requests
    body = json.loads(request.text)
    assert body["type"] == "watch.failing" and request.headers["webhook-id"] == body["id"]
    assert body["data"]["account"]["handle"] == "curator"
    assert body["data"]["failures"] == 1 and "deactivated" in body["data"]["error"]


def test_a_second_dispatcher_leaves_the_work_to_the_one_already_sending(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        follow_two_unfollow_one(outbox)
        other = DispatchLock(lock_path_for(outbox.db_path))
        assert other.acquire()  # as another process mid-dispatch would hold it
        try:
            busy = outbox.dispatch()
        finally:
            other.release()
        after = outbox.dispatch()

    assert busy.busy and busy.outcomes == []
    assert after.count("delivered") == 3 and len(rx.requests) == 3
