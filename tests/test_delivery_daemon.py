"""`watcher run` dispatches alongside its polls: what is pending at start, and what a poll
commits, is sent without waiting for the next idle check; stopping is prompt and clean."""

from __future__ import annotations

import asyncio
import queue
import time

from tests.receiver import Receiver, Recorded
from tests.world import AudiusWorld, one_event_pending, verified_by
from watcher.sinks.delivery_loop import DISPATCH_IDLE


def test_the_daemon_sends_pending_deliveries_and_those_each_poll_commits(
    outbox: AudiusWorld,
) -> None:
    arrivals: queue.Queue[Recorded] = queue.Queue()
    verify = verified_by()

    def check(request: Recorded) -> None:
        arrivals.put(request)
        verify(request)

    async def scenario(rx: Receiver) -> tuple[list[str], float]:
        async with outbox.daemon() as daemon:
            watch = daemon.runtime.config.watch[0]
            types = [(await asyncio.to_thread(arrivals.get, timeout=10)).json()["type"]]
            started = time.monotonic()
            curator = outbox.sim.id_of("curator")
            outbox.sim.unfollow(curator, outbox.sim.id_of("artist_1"))
            await daemon.poll_job(watch)  # what the scheduler runs on its interval
            await daemon.poll_job(watch)  # missing twice: the unfollow is confirmed
            types.append((await asyncio.to_thread(arrivals.get, timeout=10)).json()["type"])
            woken_after = time.monotonic() - started
        return types, woken_after

    with Receiver(check=check) as rx:
        outbox.webhook("crm", rx.url("/hook"))
        one_event_pending(outbox, "crm")
        types, woken_after = asyncio.run(scenario(rx))

    assert types == ["following.added", "following.removed"]
    assert woken_after < DISPATCH_IDLE / 2  # woken by the poll, not by the idle check
    assert rx.rejections == []
    assert [row.state for row in outbox.deliveries()] == ["delivered", "delivered"]
