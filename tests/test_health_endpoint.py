"""GET /healthz and /metrics: what they say, when healthz is 503, and that nothing else answers."""

from __future__ import annotations

import asyncio
import re
import socket
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.daemons import metric
from tests.dashboard import healthy, serving
from tests.world import AudiusWorld
from watcher import health, metrics
from watcher.config import HttpSettings
from watcher.health import Health
from watcher.http.retry import RetryPolicy
from watcher.runtime import Runtime
from watcher.scheduler import Daemon
from watcher.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "watcher.db")
    yield opened
    opened.close()


async def fetch(base: str, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=5, trust_env=False) as client:
        return await client.request(method, path)


def serve_and(
    world: AudiusWorld, check: Any, scrape: Any, *requests: tuple[str, str]
) -> list[httpx.Response]:
    """Serve the endpoint of `world`'s config on an ephemeral port, make `requests`, stop."""
    Store.open(world.db_path).close()
    with (
        serving(world.config(), health=check, scrape=scrape) as base,
        httpx.Client(base_url=base, timeout=5, trust_env=False) as client,
    ):
        return [client.request(method, path) for method, path in requests]


async def unhealthy() -> tuple[bool, dict[str, Any]]:
    return False, {"status": "unavailable", "reason": "scheduler stalled"}


def test_healthz_and_metrics_answer_get_and_head_and_nothing_changes_state(
    audius: AudiusWorld,
) -> None:
    responses = serve_and(
        audius,
        healthy,
        lambda: b"watcher_up 1\n",
        ("GET", "/healthz"),
        ("GET", "/metrics?x=1"),
        ("HEAD", "/healthz"),
        ("GET", "/admin"),
        ("POST", "/healthz"),
        ("DELETE", "/metrics"),
        ("PUT", "/"),
    )
    ok, scrape, head, admin, post, delete, put = responses
    assert ok.status_code == 200 and ok.json() == {"status": "ok"}
    assert ok.headers["content-type"] == "application/json"
    assert ok.headers["cache-control"] == "no-store"
    assert scrape.status_code == 200 and scrape.text == "watcher_up 1\n"
    assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert head.status_code == 200 and head.content == b""
    assert admin.status_code == 404
    assert post.status_code == 405 and delete.status_code == 405 and put.status_code == 405
    assert post.headers["allow"] == "GET,HEAD"


def test_an_unhealthy_daemon_answers_503_with_the_reason(audius: AudiusWorld) -> None:
    (response,) = serve_and(audius, unhealthy, lambda: b"", ("GET", "/healthz"))
    assert response.status_code == 503
    assert response.json()["reason"] == "scheduler stalled"


def test_a_malformed_request_gets_400_and_a_failing_scrape_500(audius: AudiusWorld) -> None:
    def broken() -> bytes:
        raise RuntimeError("boom")

    Store.open(audius.db_path).close()
    with serving(audius.config(), scrape=broken) as base:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(b"NONSENSE\r\n\r\n")
            answer = raw.recv(4096)
        scrape = httpx.get(base + "/metrics", timeout=5)
    assert re.match(rb"HTTP/1\.[01] 400 ", answer)
    assert scrape.status_code == 500 and "Traceback" not in scrape.text


def test_healthz_is_ok_with_a_fresh_heartbeat_and_a_writable_database(store: Store) -> None:
    ok, body = asyncio.run(Health(store, lambda: {"a"}).check())
    assert ok and body["status"] == "ok" and body["watches"] == 1


def test_healthz_fails_when_the_scheduler_stops_beating(store: Store) -> None:
    now = [100.0]
    check = Health(store, set, clock=lambda: now[0], stale_after=30)
    now[0] += 20
    assert asyncio.run(check.check())[0]
    now[0] += 20
    ok, body = asyncio.run(check.check())
    assert not ok and body["reason"] == "scheduler stalled: no heartbeat for 40s"
    check.beat()
    assert asyncio.run(check.check())[0]


def test_healthz_fails_when_the_database_cannot_take_a_write(store: Store, tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "watcher.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # someone else holds the write lock, and keeps it
    try:
        ok, body = asyncio.run(Health(store, set, probe_timeout=0.05).check())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not ok and body["reason"] == "database locked"


def test_healthz_fails_while_shutting_down(store: Store) -> None:
    check = Health(store, set)
    check.stopping()
    assert asyncio.run(check.check()) == (
        False,
        {"status": "unavailable", "reason": "shutting down"},
    )


def test_metrics_read_deliveries_tokens_and_list_sizes_from_the_database(
    audius: AudiusWorld,
) -> None:
    sim = audius.sim
    curator = sim.add_user(handle="curator", base_followers=5)
    sim.follow_many(curator, sim.add_users(7, prefix="artist"))
    audius.watches.append({"platform": "audius", "account": "curator"})
    assert audius.poll().ok
    store = audius.store()
    try:
        watch_id = store.watches.all()[0].id
        for state in ("pending", "pending", "dead", "delivered"):
            store.db.execute(
                "INSERT INTO deliveries (notifier, watch_id, batch, state, created_at,"
                " next_attempt_at) VALUES ('chat', ?, 'b', ?, '2026-01-01T00:00:00Z',"
                " '2026-01-01T00:00:00Z')",
                [watch_id, state],
            )
        store.db.execute(
            "INSERT INTO tokens (platform, access_token, expires_at, obtained_at, grants)"
            " VALUES ('soundcloud', 'tok', '2026-11-22T13:00:00Z', '2026-11-22T12:00:00Z', 3)"
        )
        keys = [("audius:curator:following", "audius", "curator", "following")]
        fresh = metrics.Metrics()
        fresh.registry.register(metrics.StoreCollector(store, lambda: keys))
        text = fresh.exposition().decode()
    finally:
        store.close()
    assert metric(text, "watcher_list_size", account="curator") == 7
    assert metric(text, "watcher_watch_consecutive_failures", account="curator") == 0
    assert metric(text, "watcher_deliveries_pending") == 2
    assert metric(text, "watcher_deliveries_dead") == 1
    assert metric(text, "watcher_deliveries_total", outcome="delivered") == 1
    assert metric(text, "watcher_token_requests_total", platform="soundcloud") == 3
    expiry = metric(text, "watcher_token_expiry_timestamp_seconds", platform="soundcloud")
    assert expiry == datetime(2026, 11, 22, 13, tzinfo=UTC).timestamp()


def test_every_platform_request_and_429_is_counted_under_its_platform(audius: AudiusWorld) -> None:
    counters = metrics.reset()
    sim = audius.sim
    curator = sim.add_user(handle="curator", base_followers=5)
    sim.follow_many(curator, sim.add_users(3, prefix="artist"))
    sim.faults.add("/following", status=429, headers={"Retry-After": "0"})
    audius.watches.append({"platform": "audius", "account": "curator"})
    assert audius.poll().ok
    text = counters.exposition().decode()
    assert metric(text, "watcher_platform_throttled_total", platform="audius") == 1
    assert metric(text, "watcher_platform_requests_total", platform="audius", status="429") == 1
    assert (
        metric(text, "watcher_platform_requests_total", platform="audius", status="200") == 5
    )  # resolve, one page, then the baseline's verifying pass: the page and two end probes
    assert metric(text, "watcher_polls_total", platform="audius", outcome="ok") == 1


def test_daemon_in_process_serves_the_dashboard_and_endpoint_and_stops_them(
    audius: AudiusWorld,
) -> None:
    sim = audius.sim
    sim.follow_many(sim.add_user(handle="curator"), sim.add_users(4, prefix="artist"))
    audius.watches.append({"platform": "audius", "account": "curator"})
    plain = audius.config()
    config = plain.model_copy(update={"http": HttpSettings(listen="127.0.0.1:0")})

    async def go() -> tuple[int, int, str]:
        store = Store.open(config.database_path)
        engine = Runtime(config, store, retry=RetryPolicy.immediate(2))
        daemon = Daemon(engine)
        task = asyncio.create_task(daemon.run(install_signals=False))
        try:
            for _ in range(1000):  # up to 10 s for the endpoint to listen
                if daemon.endpoint_url is not None:
                    break
                await asyncio.sleep(0.01)
            base = daemon.endpoint_url
            assert base is not None
            status = (await fetch(base, "GET", "/healthz")).status_code
            text = (await fetch(base, "GET", "/metrics")).text
            overview = await fetch(base, "GET", "/")
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)
            await engine.aclose()
            store.close()
        try:
            await fetch(base, "GET", "/healthz")
            after = 0
        except httpx.ConnectError:
            after = -1
        assert overview.status_code == 200 and "curator" in overview.text
        return status, after, text

    status, after, text = asyncio.run(go())
    assert status == 200
    assert "watcher_list_size" in text or "watcher_watch_consecutive_failures" in text
    assert after == -1  # the endpoint is gone with the daemon


def test_status_health_line_names_failing_watches_dead_deliveries_and_token_expiry(
    store: Store,
) -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    for account in ("good", "bad"):
        store.watches.ensure(f"audius:{account}:following", "audius", account, "following", "x")
    bad = store.watches.get("audius:bad:following")
    assert bad is not None
    store.polls.record_failure(
        bad.id, "2026-11-22T11:00:00Z", "2026-11-22T11:00:01Z", 5, "HTTP 503"
    )
    store.db.execute(
        "INSERT INTO deliveries (notifier, watch_id, batch, state, created_at, next_attempt_at)"
        " VALUES ('chat', ?, 'b', 'dead', 'x', 'x')",
        [bad.id],
    )
    store.db.execute(
        "INSERT INTO tokens (platform, access_token, expires_at, obtained_at, grants)"
        " VALUES ('soundcloud', 'tok', '2026-11-22T13:00:00Z', '2026-11-22T12:00:00Z', 1)"
    )
    keys = {"audius:good:following", "audius:bad:following"}
    assert health.summary_line(store, keys, now) == (
        # `good` was never polled: not ok either.
        "health: 1 of 2 watches failing, 1 never polled; deliveries: 0 pending, 1 dead;"
        " soundcloud token expires 2026-11-22T13:00:00Z (in 1.0h)"
    )
