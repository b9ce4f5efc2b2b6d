"""The outbox in the store: rows written with the poll, alerts once per outage, the schedule."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import store_reads
from watcher.alerts import FAILING, RECOVERED, Alert
from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.retry import DELIVERY_DELAYS, DeliverySchedule
from watcher.store import AttemptRecord, PollOutcome, Route, Store

ACCOUNT = Profile("eJ57D", "Audius", "Audius", "https://audius.co/Audius", 10, 2)
ALICE = Profile("a1", "alice", "Alice", "https://audius.co/alice", 3)
BOB = Profile("b2", "bob", "Bob", "https://audius.co/bob", 3)
MOMENT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW = "2026-11-22T12:00:01Z"
ROUTES = [Route("chat"), Route("crm", frozenset({"following.removed"}))]


def event(target: Profile, added: bool = True) -> Event:
    return Event.create(
        platform="audius",
        relation="following",
        added=added,
        account=ACCOUNT,
        target=target,
        moment=MOMENT,
    )


def alert(type_: str, failures: int) -> Alert:
    return Alert.create(
        type_,
        platform="audius",
        relation="following",
        account=ACCOUNT,
        failures=failures,
        moment=MOMENT,
        error="HTTP 500" if type_ == FAILING else None,
    )


def outcome(watch_id: int, **kwargs: object) -> PollOutcome:
    base: dict[str, object] = dict(
        watch_id=watch_id,
        started_at="2026-11-22T12:00:00Z",
        finished_at=NOW,
        duration_ms=1000,
        account=ACCOUNT,
        routes=ROUTES,
    )
    base.update(kwargs)
    return PollOutcome(**base)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "w.db")


def watch_id(store: Store) -> int:
    return store.watches.ensure("audius:Audius:following", "audius", "Audius", "following", "t").id


def fail(store: Store, wid: int, failures: int, after: int = 3) -> None:
    store.polls.record_failure(
        wid, "s", "f", 5, "HTTP 500", routes=ROUTES, failing=alert(FAILING, failures),
        alert_after=after,
    )  # fmt: skip


def test_a_poll_writes_one_row_per_event_and_notifier_that_wants_it(store: Store) -> None:
    wid = watch_id(store)
    events = [event(ALICE), event(BOB, added=False)]

    store.polls.commit("audius", outcome(wid, events=events))

    rows = store.outbox.due(NOW)
    pairs = sorted((row.notifier, row.event_id) for row in rows)
    assert pairs == sorted([("chat", events[0].id), ("chat", events[1].id), ("crm", events[1].id)])
    assert {row.batch for row in rows} == {f"poll:{events[0].id}"}
    assert all(row.state == "pending" and row.attempts == 0 for row in rows)
    assert rows[0].envelope() == events[0].envelope()  # the body is the event's, byte for byte


def test_rows_are_not_due_before_their_time(store: Store) -> None:
    store.polls.commit("audius", outcome(watch_id(store), events=[event(ALICE)]))

    assert store.outbox.due("2026-11-22T12:00:00Z") == []
    assert store_reads.next_delivery_at(store) == NOW


def test_events_and_their_deliveries_commit_together_or_not_at_all(store: Store) -> None:
    wid = watch_id(store)
    first = event(ALICE)
    store.polls.commit("audius", outcome(wid, events=[first]))

    with pytest.raises(sqlite3.IntegrityError):  # a duplicate event id rolls everything back
        store.polls.commit("audius", outcome(wid, events=[event(BOB), first]))

    assert store.events.count() == 1
    assert len(store.outbox.recent()) == 1


def test_a_watch_alerts_once_after_three_failures_and_once_when_it_recovers(
    store: Store,
) -> None:
    wid = watch_id(store)
    for failures in range(1, 3):
        fail(store, wid, failures)
    assert store.outbox.recent() == []

    for failures in range(3, 8):
        fail(store, wid, failures)
    failing = store.outbox.recent()
    assert sorted(row.notifier for row in failing) == ["chat"]  # crm wants removals only
    assert failing[0].kind == "alert" and failing[0].event_id is None
    assert failing[0].envelope()["data"]["failures"] == 3

    store.polls.commit("audius", outcome(wid, recovered=alert(RECOVERED, 7)))
    store.polls.commit("audius", outcome(wid, recovered=None))
    rows = store.outbox.recent()
    assert [row.envelope()["type"] for row in rows] == [FAILING, RECOVERED]

    for failures in range(1, 4):  # a new outage alerts again
        fail(store, wid, failures)
    assert len(store.outbox.recent()) == 3


def test_a_clean_poll_without_an_alert_sends_no_recovery(store: Store) -> None:
    wid = watch_id(store)
    fail(store, wid, 1)
    store.polls.commit("audius", outcome(wid, recovered=alert(RECOVERED, 1)))

    assert store.outbox.recent() == []


def test_alert_after_zero_never_alerts(store: Store) -> None:
    wid = watch_id(store)
    for failures in range(1, 10):
        fail(store, wid, failures, after=0)

    assert store.outbox.recent() == []


def test_requeue_resends_a_delivered_row_in_full_and_a_dead_one_only_where_missing(
    store: Store,
) -> None:
    store.polls.commit("audius", outcome(watch_id(store), events=[event(ALICE)], routes=ROUTES[:1]))
    store.polls.commit("audius", outcome(watch_id(store), events=[event(BOB)], routes=ROUTES[:1]))
    first, second = (row.id for row in store.outbox.recent())
    store_reads.record_attempt(
        store, [first], AttemptRecord("delivered", NOW, 200, None, None, ["u1"])
    )
    store_reads.record_attempt(
        store, [second], AttemptRecord("dead", NOW, 503, "HTTP 503", None, ["u1"])
    )

    assert store.outbox.requeue([first, second, 999], "2026-11-23T00:00:00Z") == [first, second]

    rows = {row.id: row for row in store.outbox.due("2026-11-23T00:00:00Z")}
    assert rows[first].urls_done == [] and rows[first].delivered_at is None
    assert rows[second].urls_done == ["u1"]
    assert all(row.attempts == 0 and row.state == "pending" for row in rows.values())


def test_notifier_counts_and_disabling(store: Store) -> None:
    store.polls.commit("audius", outcome(watch_id(store), events=[event(ALICE, added=False)]))
    chat, crm = sorted(store.outbox.recent(), key=lambda row: row.notifier)
    store_reads.record_attempt(
        store, [chat.id], AttemptRecord("pending", NOW, 503, "HTTP 503", NOW, [])
    )
    store.outbox.bury([crm.id], "notifier disabled")
    store.notifiers.disable("crm", NOW, "HTTP 410 Gone")

    counts = store.outbox.counts()
    assert counts["chat"] == {"pending": 1, "retrying": 1, "dead": 0, "delivered": 0}
    assert counts["crm"] == {"pending": 0, "retrying": 0, "dead": 1, "delivered": 0}
    assert store.notifiers.disabled() == {"crm": (NOW, "HTTP 410 Gone")}
    assert [row.id for row in store.outbox.recent(show="failed")] == [chat.id, crm.id]
    assert [row.id for row in store.outbox.recent(show="dead")] == [crm.id]
    assert store.notifiers.enable("crm") and not store.notifiers.enable("crm")
    assert store.notifiers.disabled() == {}


# -- the schedule -------------------------------------------------------------------------------


def test_the_schedule_is_the_documented_one_then_dead() -> None:
    schedule = DeliverySchedule(jitter=0.0)

    waits = [schedule.next_delay(n) for n in range(1, 9)]

    assert waits == [5, 300, 1800, 7200, 18000, 36000, 36000, None]
    assert schedule.attempts == 8
    assert sum(DELIVERY_DELAYS) / 3600 == pytest.approx(27.58, abs=0.01)  # hours until dead


def test_jitter_only_ever_waits_a_little_longer() -> None:
    schedule = DeliverySchedule(rng=random.Random(7))

    waits = [schedule.next_delay(1) for _ in range(200)]

    assert all(w is not None and 5.0 <= w <= 5.5 for w in waits)
    assert len(set(waits)) > 100


def test_retry_after_is_a_floor_not_a_shortcut() -> None:
    schedule = DeliverySchedule(jitter=0.0)

    assert schedule.next_delay(1, retry_after=120) == 120
    assert schedule.next_delay(3, retry_after=10) == 1800
    assert schedule.next_delay(8, retry_after=10) is None
