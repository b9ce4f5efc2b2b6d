"""What the benchmark runs in child processes, one figure set per process (clean peak RSS).

    python -m bench.children poll URL DB ACCOUNT RELATION
    python -m bench.children bare URL ACCOUNT RELATION PAGES
Each prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from watcher import gc_tuning


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def poll(base_url: str, database: str, account: str, relation: str) -> dict[str, Any]:
    from watcher.config import parse
    from watcher.runtime import Runtime
    from watcher.store import Store

    config = parse(
        {
            "database": database,
            "defaults": {"jitter": 0, "timeout": "60s"},
            # The platform budget is not what is measured here: the bare loop has none.
            "audius": {"base_url": base_url, "requests_per_second": 10_000},
            "watch": [{"platform": "audius", "account": account, "relation": relation}],
        }
    )
    store = Store.open(Path(database))
    engine = Runtime(config, store)
    gc_tuning.settle()  # as `watcher once` and `watcher run` do
    try:
        started = time.perf_counter()
        report = await engine.poll(config.watch[0])
        seconds = time.perf_counter() - started
    finally:
        await engine.aclose()
        store.close()
    if not report.ok:
        raise SystemExit(f"poll failed: {report.error}")
    return {
        "seconds": seconds,
        "size": report.size,
        "passes": report.passes,
        "pages": report.pages,
        "events": len(report.events),
        "peak_rss_mb": peak_rss_mb(),
    }


async def bare(base_url: str, account_id: str, relation: str, pages: int) -> dict[str, Any]:
    """The floor: the same pages, one after another, with a plain httpx client and json()."""
    async with httpx.AsyncClient(timeout=60) as client:
        found = await client.get(f"{base_url}/users/handle/{account_id}")
        account_id = found.json()["data"]["id"]  # resolving is not part of the timed loop
        started = time.perf_counter()
        entries = 0
        for page in range(pages):
            response = await client.get(
                f"{base_url}/users/{account_id}/{relation}",
                params={"offset": page * 100, "limit": 100},
            )
            entries += len(response.json()["data"])
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "entries": entries, "peak_rss_mb": peak_rss_mb()}


def platform_requests() -> float:
    """Requests sent so far, as the engine's own metrics count them (every attempt)."""
    from watcher import metrics

    return sum(
        sample.value
        for family in metrics.current().platform_requests.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def fleet(
    base_url: str, database: str, accounts: int, rate: float, concurrency: int
) -> dict[str, Any]:
    """Two full cycles of `accounts` watches under one platform budget: baseline, then quiet."""
    from watcher.config import parse
    from watcher.runtime import Runtime
    from watcher.store import Store

    config = parse(
        {
            "database": database,
            "defaults": {"jitter": 0, "timeout": "120s"},
            "audius": {
                "base_url": base_url,
                "requests_per_second": rate,
                "max_concurrent": concurrency,
            },
            "watch": [{"platform": "audius", "account": f"curator_{i}"} for i in range(accounts)],
        }
    )
    store = Store.open(Path(database))
    engine = Runtime(config, store)
    gc_tuning.settle()
    cycles = []
    try:
        for _ in range(2):
            before = platform_requests()
            cpu, started = time.process_time(), time.perf_counter()
            reports = await engine.poll_all()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            failed = [r.line() for r in reports if not r.ok]
            if failed:
                raise SystemExit(f"{len(failed)} polls failed, first: {failed[0]}")
            requests = int(platform_requests() - before)
            cycles.append({"seconds": seconds, "requests": requests, "cpu_seconds": cpu})
        targets = [(row.account_id, row.size or 0) for row in store.watches.all()]
    finally:
        await engine.aclose()
        store.close()
    references = {
        "bare": bare_fleet,
        "floor": floor_fleet,
        "aiohttp_floor": aiohttp_floor_fleet,
        "client_and_decoder": client_and_decoder_fleet,
    }
    result: dict[str, Any] = {"baseline": cycles[0], "quiet": cycles[1]}
    for name, run in references.items():
        cpu = time.process_time()
        result[name] = await run(base_url, targets, concurrency)
        result[name]["cpu_seconds"] = time.process_time() - cpu
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def fleet_urls(base_url: str, targets: list[tuple[str | None, int]]) -> list[str]:
    """The requests of a quiet cycle: per watch, the profile, then the pages."""
    urls: list[str] = []
    for account_id, size in targets:
        urls.append(f"{base_url}/users/{account_id}")
        pages = max(1, -(-size // 100))
        urls += [
            f"{base_url}/users/{account_id}/following?offset={k * 100}&limit=100"
            for k in range(pages)
        ]
    return urls


async def bare_fleet(
    base_url: str, targets: list[tuple[str | None, int]], concurrency: int
) -> dict[str, Any]:
    """The same requests as a quiet cycle from plain httpx clients (`json()` on each body),
    `concurrency` at a time."""
    urls = fleet_urls(base_url, targets)
    clients = [httpx.AsyncClient(timeout=120) for _ in range(concurrency)]
    queue = list(reversed(urls))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            (await client.get(queue.pop())).json()

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    seconds = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    return {"seconds": seconds, "requests": len(urls)}


async def floor_fleet(
    base_url: str, targets: list[tuple[str | None, int]], concurrency: int
) -> dict[str, Any]:
    """The floor of this machine and HTTP stack: the same requests sent straight to httpx
    transports `concurrency` at a time, bodies read and not decoded, nothing else done."""
    urls = fleet_urls(base_url, targets)
    limits = httpx.Limits(max_connections=1)
    transports = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(concurrency)]
    timeouts = httpx.Timeout(120).as_dict()
    queue = list(reversed(urls))

    async def worker(transport: httpx.AsyncHTTPTransport) -> None:
        while queue:
            request = httpx.Request("GET", queue.pop(), extensions={"timeout": timeouts})
            response = await transport.handle_async_request(request)
            await response.aread()
            await response.aclose()

    started = time.perf_counter()
    await asyncio.gather(*(worker(t) for t in transports))
    seconds = time.perf_counter() - started
    for transport in transports:
        await transport.aclose()
    return {"seconds": seconds, "requests": len(urls)}


async def aiohttp_floor_fleet(
    base_url: str, targets: list[tuple[str | None, int]], concurrency: int
) -> dict[str, Any]:
    """The floor of the stack watcher sends with: one aiohttp session, `concurrency`
    requests at a time, bodies read and not decoded, nothing else done."""
    import aiohttp

    urls = fleet_urls(base_url, targets)
    queue = list(reversed(urls))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:

        async def worker() -> None:
            while queue:
                async with session.get(queue.pop()) as answer:
                    await answer.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "requests": len(urls)}


async def client_and_decoder_fleet(
    base_url: str, targets: list[tuple[str | None, int]], concurrency: int
) -> dict[str, Any]:
    """watcher's own HTTP client (one client, one pool, as polls use) and
    its page decoder, `concurrency` requests at a time, and nothing else: no budget, paging
    bookkeeping, compare or commit."""
    from watcher.http.client import open_client
    from watcher.platforms.audius import _page

    urls = fleet_urls(base_url, targets)
    queue = list(reversed(urls))
    http = open_client(timeout=120, limits=httpx.Limits(max_connections=None))

    async def worker() -> None:
        while queue:
            url = queue.pop()
            answer = await http.request("GET", url)
            if "/following" in url:
                _page(answer.content)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    await http.aclose()
    return {"seconds": seconds, "requests": len(urls)}


SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def pending_deliveries(database: str, url: str, count: int) -> Any:
    """A database holding `count` pending webhook deliveries, and the config that names it."""
    from datetime import UTC, datetime

    from watcher.config import parse
    from watcher.events import Event
    from watcher.platforms.base import Profile
    from watcher.store import PollOutcome, Route, Store

    config = parse(
        {
            "database": database,
            "notifiers": {"hook": {"type": "webhook", "url": url, "secret": SECRET}},
            "watch": [{"platform": "audius", "account": "star", "notify": ["hook"]}],
        }
    )
    store = Store.open(Path(database))
    watch = store.watches.ensure(config.watch[0].key, "audius", "star", "following", "now")
    star = Profile("s1", "star", "Star", "https://audius.co/star", 10, count)
    moment = datetime.now(UTC)
    events = [
        Event.create(
            platform="audius",
            relation="following",
            added=True,
            account=star,
            target=Profile(f"t{i}", f"artist_{i}", f"Artist {i}", f"https://audius.co/artist_{i}"),
            moment=moment,
        )
        for i in range(count)
    ]
    store.polls.commit(
        "audius",
        PollOutcome(
            watch_id=watch.id,
            started_at="2026-11-25T00:00:00Z",
            finished_at="2026-11-25T00:00:01Z",
            duration_ms=1000,
            account=star,
            events=events,
            routes=[Route("hook")],
        ),
    )
    return config, store, [e.to_json() for e in events]


async def drain(database: str, url: str, count: int) -> dict[str, Any]:
    """Time the dispatcher sending `count` pending webhook deliveries."""
    from watcher.sinks.dispatcher import Dispatcher

    config, store, _ = pending_deliveries(database, url, count)
    dispatcher = Dispatcher(config, store)
    gc_tuning.settle()
    try:
        started = time.perf_counter()
        report = await dispatcher.dispatch()
        seconds = time.perf_counter() - started
    finally:
        await dispatcher.aclose()
        store.close()
    delivered = report.count("delivered")
    return {"seconds": seconds, "delivered": delivered, "peak_rss_mb": peak_rss_mb()}


async def bare_post(database: str, url: str, count: int) -> dict[str, Any]:
    """The floor: the same bodies POSTed one after another with a plain httpx client."""
    _, store, bodies = pending_deliveries(database, url, count)
    store.close()
    async with httpx.AsyncClient() as client:
        started = time.perf_counter()
        for body in bodies:
            response = await client.post(
                url, content=body, headers={"content-type": "application/json"}
            )
            response.raise_for_status()
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "delivered": len(bodies)}


def main() -> None:
    kind, *args = sys.argv[1:]
    if kind == "poll":
        result = asyncio.run(poll(*args))
    elif kind == "bare":
        url, account, relation, pages = args
        result = asyncio.run(bare(url, account, relation, int(pages)))
    elif kind == "fleet":
        url, database, accounts, rate, concurrency = args
        result = asyncio.run(fleet(url, database, int(accounts), float(rate), int(concurrency)))
    elif kind in ("drain", "bare_post"):
        database, url, count = args
        run = drain if kind == "drain" else bare_post
        result = asyncio.run(run(database, url, int(count)))
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
