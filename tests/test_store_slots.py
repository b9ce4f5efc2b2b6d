"""Concurrency slots live in the database: every process on it shares `max_concurrent`."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

from watcher.http.shared_slots import LEASE, SharedSlots
from watcher.poll_lease import LeaseHolder
from watcher.store import Store
from watcher.store.slots import SlotHolder

ONE = SlotHolder("one", 101, "here")
TWO = SlotHolder("two", 102, "here")


def test_two_holders_never_hold_more_than_max_concurrent_slots_together(tmp_path: Path) -> None:
    one, two = Store.open(tmp_path / "w.db"), Store.open(tmp_path / "w.db")
    try:
        now = 1000.0
        granted = []
        for _ in range(4):  # each asks for more than its share, alternately
            granted.append(one.slots.claim("audius", 3, ONE, now, now + LEASE))
            granted.append(two.slots.claim("audius", 3, TWO, now, now + LEASE))
        assert sorted(slot for slot in granted if slot is not None) == [0, 1, 2]
        assert granted.count(None) == 5
        # Another platform's slots are its own.
        assert two.slots.claim("soundcloud", 1, TWO, now, now + LEASE) == 0
    finally:
        one.close()
        two.close()


def test_released_and_expired_slots_are_taken_again(tmp_path: Path) -> None:
    one, two = Store.open(tmp_path / "w.db"), Store.open(tmp_path / "w.db")
    try:
        now = 1000.0
        assert one.slots.claim("audius", 2, ONE, now, now + LEASE) == 0
        assert one.slots.claim("audius", 2, ONE, now, now + LEASE) == 1
        assert two.slots.claim("audius", 2, TWO, now, now + LEASE) is None
        one.slots.release("audius", [1], "one")
        assert two.slots.claim("audius", 2, TWO, now, now + LEASE) == 1
        # Slot 0 was never renewed: once its lease ran out it is free, and its old holder
        # cannot renew it any more.
        later = now + LEASE + 0.1
        assert two.slots.renew("audius", [1], "two", later + LEASE) == [1]
        assert two.slots.claim("audius", 2, TWO, later, later + LEASE) == 0
        assert one.slots.renew("audius", [0], "one", later + LEASE) == []
        assert one.slots.claim("audius", 2, ONE, later, later + LEASE) is None
    finally:
        one.close()
        two.close()


def test_the_slots_of_a_process_of_this_host_that_is_gone_are_taken_over_at_once(
    tmp_path: Path,
) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    host = socket.gethostname()
    store = Store.open(tmp_path / "w.db")
    try:
        now = 1000.0
        dead = SlotHolder("dead", finished.pid, host)
        assert store.slots.claim("audius", 1, dead, now, now + LEASE) == 0
        me = LeaseHolder("me", 1, host)
        slots = SharedSlots("audius", store, 1, me, lambda: now)
        assert asyncio.run(_claimed(slots)) == [0]
    finally:
        store.close()


def test_a_process_gives_back_the_slots_it_did_not_use_over_a_tick(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db")
    now = [1000.0]
    slots = SharedSlots("audius", store, 3, LeaseHolder("me", 1, "here"), lambda: now[0])

    async def go() -> None:
        for _ in range(3):
            await slots.acquire()
        assert len(slots.held) == 3
        slots.in_use = 1  # two requests done, one still in flight
        slots.tidy()  # the tick still saw three at once
        assert len(slots.held) == 3
        slots.tidy()
        assert len(slots.held) == 1
        assert store.slots.claim("audius", 3, TWO, now[0], now[0] + LEASE) is not None
        slots.in_use = 0
        slots.release_all()
        assert slots.held == []

    try:
        asyncio.run(go())
        assert len(store.slots.holders("audius", now[0])) == 1  # only TWO's
    finally:
        store.close()


async def _claimed(slots: SharedSlots) -> list[int]:
    await slots.acquire()
    held = list(slots.held)
    slots.release_all()
    return held
