"""One slow notifier delays only itself: each notifier's deliveries run in a lane of their own,
so a receiver trickling its answer until the deadline holds up nobody else's, while its own
deliveries are retried later, none lost and none doubled."""

from __future__ import annotations

import asyncio
import queue
import time

from tests.receiver import Receiver, Recorded
from tests.trickle import Trickler
from tests.world import AudiusWorld, one_event_pending, verified_by
from watcher.retry import DeliverySchedule
from watcher.sinks.dispatcher import DELIVERED, RETRYING

SLOW_TIMEOUT = 1.5
# Retries come back within a second or two (the first wait is 0 s, rounded up to a second).
QUICK_RETRIES = DeliverySchedule(delays=(0.0,) * 7, jitter=0.0)


def test_a_hanging_receiver_holds_up_no_other_notifiers_deliveries(
    outbox: AudiusWorld,
) -> None:
    arrivals: queue.Queue[Recorded] = queue.Queue()
    verify = verified_by()

    def check(request: Recorded) -> None:
        arrivals.put(request)
        verify(request)

    async def scenario(slow: Trickler) -> tuple[float, int]:
        async with outbox.daemon(QUICK_RETRIES) as daemon:
            await asyncio.to_thread(arrivals.get, timeout=10)  # the first event, healthy
            await asyncio.to_thread(slow.arrivals.get, timeout=10)  # and it trickles
            hanging_since = time.monotonic()
            outbox.sim.follow(outbox.sim.id_of("curator"), outbox.sim.id_of("artist_36"))
            await daemon.poll_job(daemon.runtime.config.watch[0])  # as on its interval
            await asyncio.to_thread(arrivals.get, timeout=10)  # the second event, healthy
            healthy_after = time.monotonic() - hanging_since
            slow_requests_meanwhile = len(slow.requests)
            for _ in range(2):  # the retry of the first event, then the second one
                await asyncio.to_thread(slow.arrivals.get, timeout=10)
        # Leaving the block stopped the daemon: the send in flight finished and was marked.
        return healthy_after, slow_requests_meanwhile

    with Receiver(check=check) as fast, Trickler(["headers", "answer"], every=0.2) as slow:
        outbox.webhook("fast", fast.url("/hook"))
        outbox.webhook("slow", slow.url("/hook"), timeout=f"{SLOW_TIMEOUT}s")
        one_event_pending(outbox, "fast", "slow")
        healthy_after, slow_requests_meanwhile = asyncio.run(scenario(slow))

    # The second event reached the healthy receiver while the slow one still hung on the first.
    assert healthy_after < SLOW_TIMEOUT / 2 and slow_requests_meanwhile == 1
    fast_ids = [request.headers["webhook-id"] for request in fast.requests]
    slow_ids = [request.headers["webhook-id"] for request in slow.requests]
    assert len(fast_ids) == 2 and len(set(fast_ids)) == 2
    # The one that timed out was sent again (same id), then the one waiting behind it: once.
    assert slow_ids == [fast_ids[0], fast_ids[0], fast_ids[1]]
    rows = outbox.deliveries()
    assert [(row.notifier, row.state) for row in rows] == [
        ("fast", DELIVERED),
        ("slow", DELIVERED),
        ("fast", DELIVERED),
        ("slow", DELIVERED),
    ]


def test_a_one_shot_dispatch_delivers_to_the_healthy_and_retries_the_hanging_one(
    outbox: AudiusWorld,
) -> None:
    with Receiver() as fast, Trickler(["headers"], every=0.2) as slow:
        outbox.webhook("fast", fast.url("/hook"))
        outbox.webhook("slow", slow.url("/hook"), timeout="1s")
        one_event_pending(outbox, "fast", "slow")
        started = time.monotonic()
        report = outbox.dispatch()
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    by_notifier = {outcome.notifier: outcome for outcome in report.outcomes}
    assert by_notifier["fast"].state == DELIVERED
    assert by_notifier["slow"].state == RETRYING
    assert by_notifier["slow"].error == (
        f"timed out after 1s (no complete answer): POST {slow.url('/hook')}"
    )
    assert len(fast.requests) == 1
