"""`watcher run` dispatches alongside its polls: what is pending at start, and what a poll
commits, is sent without waiting for the next idle check; stopping is prompt and clean."""

from __future__ import annotations

import asyncio
import queue
import time

from tests.receiver import Receiver, Recorded
from tests.world import SCHEDULE, AudiusWorld, curator_following, verified_by
from watcher.http.retry import RetryPolicy
from watcher.runtime import Runtime
from watcher.scheduler import Daemon
from watcher.sinks.delivery_loop import DISPATCH_IDLE
from watcher.sinks.sink import SinkOptions
from watcher.store import Store


def test_the_daemon_sends_pending_deliveries_and_those_each_poll_commits(
    outbox: AudiusWorld,
) -> None:
    arrivals: queue.Queue[Recorded] = queue.Queue()
    verify = verified_by()

    def check(request: Recorded) -> None:
        arrivals.put(request)
        verify(request)

    async def scenario(rx: Receiver) -> tuple[list[str], float]:
        config = outbox.config()
        store = Store.open(config.database_path)
        engine = Runtime(config, store, retry=RetryPolicy.immediate(2))
        engine.open_dispatcher(schedule=SCHEDULE, options=SinkOptions(throttle=False))
        daemon = Daemon(engine)
        running = asyncio.create_task(daemon.run(install_signals=False))
        try:
            types = [(await asyncio.to_thread(arrivals.get, timeout=10)).json()["type"]]
            started = time.monotonic()
            curator = outbox.sim.id_of("curator")
            outbox.sim.unfollow(curator, outbox.sim.id_of("artist_1"))
            await daemon._poll_job(config.watch[0])  # what the scheduler runs on its interval
            await daemon._poll_job(config.watch[0])  # missing twice: the unfollow is confirmed
            types.append((await asyncio.to_thread(arrivals.get, timeout=10)).json()["type"])
            woken_after = time.monotonic() - started
            daemon.stop()
            await asyncio.wait_for(running, timeout=5)
        finally:
            await engine.aclose()
            store.close()
        return types, woken_after

    with Receiver(check=check) as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        curator, artists = curator_following(outbox)
        outbox.poll()
        outbox.sim.follow(curator, artists[35])
        outbox.poll()  # one delivery pending before the daemon starts
        types, woken_after = asyncio.run(scenario(rx))

    assert types == ["following.added", "following.removed"]
    assert woken_after < DISPATCH_IDLE / 2  # woken by the poll, not by the idle check
    assert rx.rejections == []
    assert [row.state for row in outbox.deliveries()] == ["delivered", "delivered"]
