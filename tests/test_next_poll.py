"""The planned next poll: how the daemon words it, and what `watcher status` shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watcher.clock import iso
from watcher.config import Config, parse
from watcher.next_poll import NextPoll, format_wait, shown_next_poll
from watcher.store import Store

NOW = datetime(2026, 12, 6, 10, 0, 2, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "w.db")
    yield store
    store.close()


def one_watch() -> Config:
    return parse(
        {"defaults": {"interval": "15m"}, "watch": [{"platform": "audius", "account": "A"}]}
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "0s"),
        (0, "0s"),
        (0.9, "0s"),
        (2.5, "2s"),
        (60, "1m"),
        (65, "1m 5s"),
        (898.7, "14m 58s"),
        (3600, "1h"),
        (3725, "1h 2m"),
        (90061, "1d 1h"),
    ],
)
def test_a_wait_is_shown_in_its_two_largest_units(seconds: float, shown: str) -> None:
    assert format_wait(seconds) == shown


def test_a_next_poll_line_names_the_account_by_its_handle_once_known() -> None:
    watch = one_watch().watch[0]
    plan = NextPoll(watch, NOW + timedelta(seconds=3), NOW, handle="the_a")

    assert plan.line() == "next poll of audius the_a following at 2026-12-06T10:00:05Z (in 3s)"
    assert (plan.fields()["account"], plan.fields()["configured_account"]) == ("the_a", "A")


def test_the_next_poll_line_names_the_watch_the_time_and_the_wait() -> None:
    watch = one_watch().watch[0]
    plan = NextPoll(watch, NOW + timedelta(minutes=14, seconds=58), NOW)
    assert plan.line() == "next poll of audius A following at 2026-12-06T10:15:00Z (in 14m 58s)"
    assert plan.fields() == {
        "platform": "audius",
        "account": "A",
        "configured_account": "A",
        "relation": "following",
        "next_poll_at": "2026-12-06T10:15:00Z",
        "next_poll_in_s": 898.0,
    }
    overdue = NextPoll(watch, NOW - timedelta(seconds=3), NOW)
    assert overdue.line().endswith("(in 0s)") and overdue.fields()["next_poll_in_s"] == 0


def test_status_shows_the_running_daemons_plan_while_it_lies_ahead(store: Store) -> None:
    conf = one_watch()
    watch = conf.watch[0]
    row = store.watches.ensure(watch.key, "audius", "A", "following", iso(NOW))
    store.polls.record_failure(row.id, iso(NOW), iso(NOW - timedelta(minutes=5)), 10, "x")
    planned = iso(NOW + timedelta(minutes=10, seconds=17))
    store.watches.plan_next_poll(watch.key, planned)

    def shown(running: bool, at: datetime = NOW) -> str:
        return shown_next_poll(conf, store, watch, at, daemon_running=running)

    assert store.watches.planned_next_poll(watch.key) == planned
    assert shown(True) == planned
    # without a daemon the stored plan means nothing: last poll + interval
    assert shown(False) == iso(NOW + timedelta(minutes=10))
    # a plan that has passed (a poll running late) falls back to the estimate too
    assert shown(True, NOW + timedelta(minutes=11)) == "due"
    store.watches.plan_next_poll(watch.key, None)
    assert shown(True) == iso(NOW + timedelta(minutes=10))


def test_status_says_at_start_for_a_watch_never_polled_and_without_a_plan(store: Store) -> None:
    conf = one_watch()
    watch = conf.watch[0]
    assert store.watches.planned_next_poll(watch.key) is None  # no row at all yet
    assert shown_next_poll(conf, store, watch, NOW, daemon_running=True) == "at start"
    store.watches.ensure(watch.key, "audius", "A", "following", iso(NOW))
    assert shown_next_poll(conf, store, watch, NOW, daemon_running=False) == "at start"
