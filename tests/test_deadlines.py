"""Deadlines nothing stretches: a peer trickling one byte at a time (each byte resets a
per-read timeout) still fails the request within its `timeout`; and a platform's Retry-After
is waited out up to a documented maximum, past which the poll fails saying so."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.trickle import Mode, Trickler
from tests.world import SoundCloudWorld, VirtualTime, World, run_polls
from watcher.clock import FakeClock
from watcher.config import parse
from watcher.errors import PlatformError
from watcher.http.budget import RequestBudget
from watcher.http.client import open_client
from watcher.http.json_client import JsonClient
from watcher.http.retry import MAX_PLATFORM_RETRY_AFTER, RetryPolicy
from watcher.sim.soundcloud import SoundCloudSim
from watcher.sinks.apprise_sink import send_apprise_within
from watcher.sinks.webhook import send_webhook

TIMEOUT = 1.0
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLOW_BODY = b'{"data": [' + b" " * 200 + b"]}"  # 40 s at a byte every 0.2 s


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_platform_trickling_its_answer_times_out_within_the_timeout(mode: Mode) -> None:
    async def fetch(url: str) -> None:
        async with open_client(timeout=TIMEOUT, headers={}) as http:
            await JsonClient(http, retry=RetryPolicy.immediate(1)).request_json("GET", url)

    with Trickler([mode], every=0.2, body=SLOW_BODY) as peer:
        started = time.monotonic()
        with pytest.raises(PlatformError) as failed:
            asyncio.run(fetch(peer.url("/v1/users/1/following")))
        elapsed = time.monotonic() - started
    assert elapsed < 2 * TIMEOUT
    assert str(failed.value) == (
        f"timed out after 1s (no complete answer): GET {peer.url('/v1/users/1/following')}"
    )


def test_a_poll_against_a_trickling_platform_fails_in_one_line_naming_the_timeout(
    tmp_path: Path,
) -> None:
    with Trickler(["body"], every=0.1, body=SLOW_BODY) as peer:
        config = parse(
            {
                "database": str(tmp_path / "watcher.db"),
                "defaults": {"timeout": "0.5s", "jitter": 0},
                "audius": {"base_url": peer.url("/v1"), "requests_per_second": 10_000},
                "watch": [{"platform": "audius", "account": "Audius"}],
            }
        )
        started = time.monotonic()
        (report,) = run_polls(config, clock=FakeClock(), retry=RetryPolicy.immediate(2))
        elapsed = time.monotonic() - started
    assert not report.ok
    assert "timed out after 0.5s (no complete answer): GET http://127.0.0.1" in (report.error or "")
    assert "\n" not in (report.error or "")
    assert len(peer.requests) == 2  # retried per the policy, then given up
    assert elapsed < 2 * 2 * 0.5


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_webhook_receiver_trickling_its_answer_is_a_timeout(mode: Mode) -> None:
    async def post(url: str) -> tuple[bool, str | None]:
        async with open_client(timeout=30, headers={}) as http:
            result = await send_webhook(
                http,
                url=url,
                secret=SECRET,
                event_id="evt_1",
                body="{}",
                timestamp=datetime.now(UTC),
                timeout=TIMEOUT,
            )
        return result.ok, result.error

    status = 503 if mode == "body" else 200
    with Trickler([mode], every=0.2, status=status, body=SLOW_BODY) as peer:
        started = time.monotonic()
        ok, error = asyncio.run(post(peer.url("/hook")))
        elapsed = time.monotonic() - started
    assert elapsed < 2 * TIMEOUT
    if mode == "headers":
        assert (
            not ok and error == f"timed out after 1s (no complete answer): POST {peer.url('/hook')}"
        )
    else:  # the status came in time: it is the answer, however slow the body after it
        assert not ok and error is not None and error.startswith("HTTP 503")


# -- Retry-After ------------------------------------------------------------------------------


@pytest.fixture
def sc(tmp_path: Path) -> SoundCloudWorld:
    return World(SoundCloudSim(seed=2), "", tmp_path / "watcher.db", FakeClock())


def test_a_platform_retry_after_is_honoured_as_asked_beyond_the_back_off_cap(
    sc: SoundCloudWorld,
) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    with sc.sim.serve() as sc.base_url:
        sc.retry = RetryPolicy(attempts=3, max_delay=30.0, sleep=record)
        sc.curator(30)
        sc.watch()
        sc.sim.rate_limit("/followings", shape="code", times=1, headers={"Retry-After": "45"})
        report = sc.poll()
    assert report.ok and report.size == 30
    assert slept == [45.0]


def test_a_retry_after_past_the_maximum_fails_the_poll_saying_how_long(
    sc: SoundCloudWorld,
) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    with sc.sim.serve() as sc.base_url:
        sc.retry = RetryPolicy(attempts=3, sleep=record)
        sc.curator(30)
        sc.watch()
        sc.sim.rate_limit("/followings", shape="code", times=None, headers={"Retry-After": "900"})
        report = sc.poll()
    assert not report.ok and slept == []  # not waited, not retried
    error = report.error or ""
    assert (
        "the platform asked to wait 900 s (Retry-After), longer than the 300 s a poll waits"
        in error
    )
    assert "HTTP 429" in error and "\n" not in error
    assert MAX_PLATFORM_RETRY_AFTER == 300


def test_the_platforms_other_requests_wait_with_a_long_retry_after() -> None:
    """Held for 900 s: a request then fails at once while more than the patience is left,
    waits out the rest once it is within it, and starts when the hold is over."""
    clock = VirtualTime()
    budget = RequestBudget(10, 4, monotonic=clock.monotonic, sleep=clock.sleep)

    async def one() -> float:
        async with budget.slot():
            return clock.monotonic()

    budget.hold(900, "asked to wait 900 s", patience=300)
    with pytest.raises(PlatformError, match=r"^asked to wait 900 s \(900 s left\)$"):
        asyncio.run(one())
    clock.now = 700.0  # 200 s left: within the patience
    assert asyncio.run(one()) == 900.0
    assert asyncio.run(one()) == 900.0  # the hold is over


def test_an_apprise_send_past_its_timeout_is_reported_as_one_without_waiting_for_it() -> None:
    """Apprise cannot be interrupted: the wait for it is what is bounded."""

    async def send(url: str) -> tuple[bool, str | None]:
        result = await send_apprise_within(
            url, title="t", body="b", body_format="text", timeout=0.5, throttle=False
        )
        return result.ok, result.error

    with Trickler(["headers"], every=0.2) as peer:
        url = f"json://127.0.0.1:{peer.port}/hook"
        started = time.monotonic()
        ok, error = asyncio.run(send(url))
        elapsed = time.monotonic() - started
    assert not ok and elapsed < 2 * 0.5
    assert (
        error == f"timed out after 0.5s (Apprise still sending): json://127.0.0.1:{peer.port}/hook"
    )
