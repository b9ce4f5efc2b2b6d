"""Scenario 11: the dashboard's `/` over a database of 200 watches, each with a month of polls
(a size chart each), 100,000 events and one list of 1,000,000 followers: the median time to
serve it over HTTP, against the time the SQL it runs takes alone (its statements, recorded
and run again), and what a size chart costs.

The database is filled straight through SQL (polling 200 watches for a month through the
simulator would take long and prove nothing more): watches, their profiles, their polls (one
an hour), events spread over the month, the big list's members, as polls leave them. Each
measured step runs in its own process.

    python -m bench.overview_page fill DB [--quick]
    python -m bench.overview_page serve DB      # the figures, as JSON
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.scenarios import Figure, child_of

WATCHES = 200
DAYS = 30
POLLS_PER_DAY = 24
EVENTS = 100_000
BIG_LIST = 1_000_000
# Where the month ends: the page is read then.
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
REQUESTS = 15  # timed GETs of `/`, after two unmeasured


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _raw_config(database: str, watches: int) -> dict[str, Any]:
    accounts = [f"curator{i}" for i in range(watches - 1)] + ["star"]
    return {
        "database": database,
        "audius": {"base_url": "http://127.0.0.1:9/v1", "requests_per_month": 0},
        "watch": [
            {
                "platform": "audius",
                "account": account,
                "relation": "followers" if account == "star" else "following",
                "interval": "1h",
            }
            for account in accounts
        ],
    }


def fill(database: str, quick: bool) -> dict[str, Any]:
    from watcher.config import parse
    from watcher.store import Store

    watches = 20 if quick else WATCHES
    events = 5_000 if quick else EVENTS
    big = 10_000 if quick else BIG_LIST
    config = parse(_raw_config(database, watches))
    store = Store.open(database)
    conn = store.db.conn
    start = NOW - timedelta(days=DAYS)
    conn.execute("BEGIN")
    ids = []
    for index, watch in enumerate(config.watch):
        row = store.watches.ensure(watch.key, "audius", watch.account, watch.relation, _iso(start))
        size = big if watch.account == "star" else 40 + index % 300
        conn.execute(
            "INSERT INTO accounts (platform, id, handle, name, url, follower_count,"
            " following_count, is_verified, deactivated, counted_on)"
            " VALUES ('audius', ?, ?, ?, ?, ?, ?, 0, 0, '2026-11-30')",
            [
                f"a{index}",
                watch.account,
                watch.account.title(),
                f"https://audius.co/{watch.account}",
                size if watch.account == "star" else 100 + index,
                size,
            ],
        )
        conn.execute(
            "UPDATE watches SET account_id = ?, baseline_at = ?, last_poll_at = ?,"
            " last_outcome = 'ok', last_passes = 1, last_pages = 1, last_duration_ms = 80,"
            " size = ? WHERE id = ?",
            [f"a{index}", _iso(start), _iso(NOW - timedelta(minutes=20)), size, row.id],
        )
        polls = DAYS * POLLS_PER_DAY
        conn.executemany(
            "INSERT INTO polls (watch_id, started_at, duration_ms, outcome, size, passes, pages,"
            " requests, complete, added, removed, counts_only)"
            " VALUES (?, ?, 80, 'ok', ?, 1, 1, 2, 1, 0, 0, 0)",
            (
                (row.id, _iso(start + timedelta(hours=p)), max(size - (polls - p) // 40, 0))
                for p in range(polls)
            ),
        )
        ids.append((row.id, f"a{index}", watch.account))
    conn.executemany(
        "INSERT INTO events (id, watch_id, type, timestamp, account_id, account_handle,"
        " target_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (_event(n, events, ids[n % (len(ids) - 1)], start) for n in range(events)),
    )
    star_id = ids[-1][0]
    conn.executemany(
        "INSERT OR IGNORE INTO accounts (platform, id, handle, name, url, follower_count,"
        " following_count, is_verified, deactivated, counted_on)"
        " VALUES ('audius', ?, ?, ?, ?, ?, 10, 0, 0, '2026-11-30')",
        (
            (f"u{i}", f"fan_{i}", f"Fan {i}", f"https://audius.co/fan_{i}", i % 5000)
            for i in range(big)
        ),
    )
    conn.executemany(
        "INSERT INTO edges (watch_id, target_id, state, since, joined_at)"
        " VALUES (?, ?, 'present', ?, ?)",
        ((star_id, f"u{i}", _iso(start), _iso(start)) for i in range(big)),
    )
    conn.execute("COMMIT")
    store.checkpoint()
    store.close()
    return {"watches": watches, "events": events, "big_list": big}


def _event(n: int, total: int, watch: tuple[int, str, str], start: datetime) -> tuple[Any, ...]:
    watch_id, account_id, handle = watch
    at = _iso(start + timedelta(seconds=n * DAYS * 86_400 / total))
    target = f"u{n % 50_000}"
    kind = "following.removed" if n % 5 == 0 else "following.added"
    body = {
        "id": f"evt_{n:026d}",
        "type": kind,
        "timestamp": at,
        "data": {
            "platform": "audius",
            "relation": "following",
            "account": {
                "id": account_id,
                "handle": handle,
                "name": handle.title(),
                "url": f"https://audius.co/{handle}",
            },
            "target": {
                "id": target,
                "handle": f"fan_{n % 50_000}",
                "name": f"Fan {n % 50_000}",
                "url": f"https://audius.co/fan_{n % 50_000}",
                "follower_count": n % 5000,
                "is_verified": False,
            },
        },
    }
    return (body["id"], watch_id, kind, at, account_id, handle, target, json.dumps(body))


@contextmanager
def _served(database: str, watches: int) -> Iterator[str]:
    """The endpoint as `watcher serve` starts it, on an ephemeral loopback port, its clock at
    the month's end."""
    from watcher.clock import FakeClock
    from watcher.config import HttpSettings, parse
    from watcher.web.serving import endpoint

    config = parse(_raw_config(database, watches))
    config = config.model_copy(update={"http": HttpSettings(listen="127.0.0.1:0")})

    async def healthy() -> tuple[bool, dict[str, Any]]:
        return True, {}

    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = endpoint(lambda: config, database, FakeClock(NOW), health=healthy, scrape=bytes)
        box["url"] = loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.close())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield str(box["url"])
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def serve(database: str) -> dict[str, Any]:
    import httpx

    from watcher.store import Store

    store = Store.open_read_only(database)
    watches = int(store.db.execute("SELECT COUNT(*) FROM watches").fetchone()[0])
    chart_id = store.watches.all()[0].id
    store.close()
    with _served(database, watches) as base, httpx.Client(base_url=base, timeout=60) as http:
        began = time.perf_counter()
        assert http.get("/").status_code == 200  # trending counted: nothing kept yet
        cold = time.perf_counter() - began
        assert http.get("/").status_code == 200
        page = []
        for _ in range(REQUESTS):
            began = time.perf_counter()
            response = http.get("/")
            page.append(time.perf_counter() - began)
            assert response.status_code == 200
        charts = []
        for index in range(REQUESTS):  # each a different watch: drawn, not kept
            began = time.perf_counter()
            assert http.get(f"/charts/watches/{chart_id + index}/size.svg").status_code == 200
            charts.append(time.perf_counter() - began)
        kept = []
        for _ in range(REQUESTS):
            began = time.perf_counter()
            assert http.get(f"/charts/watches/{chart_id}/size.svg").status_code == 200
            kept.append(time.perf_counter() - began)
    return {
        "watches": watches,
        "cold_s": cold,
        "page_s": statistics.median(page),
        "sql_s": _sql_alone(database, watches),
        "open_s": _open_cost(database),
        "chart_s": statistics.median(charts),
        "chart_kept_s": statistics.median(kept),
        "html_bytes": len(response.content),
    }


def _sql_alone(database: str, watches: int) -> float:
    """The statements `/` runs, recorded as the page is built (after a first build, as the
    timed requests are), then run again alone on a warm connection: the floor a page cannot go
    below. Median of REQUESTS runs."""
    from watcher.clock import FakeClock
    from watcher.config import parse
    from watcher.store import Store
    from watcher.web.overview import overview

    config = parse(_raw_config(database, watches))
    store = Store.open_read_only(database)
    overview(config, store, FakeClock(NOW).now())  # as the server's first request
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    overview(config, store, FakeClock(NOW).now())
    store.db.conn.set_trace_callback(None)
    runs = []
    for _ in range(REQUESTS):
        began = time.perf_counter()
        for sql in statements:
            store.db.conn.execute(sql).fetchall()
        runs.append(time.perf_counter() - began)
    store.close()
    return statistics.median(runs)


def _open_cost(database: str) -> float:
    """What a connection of its own per request would add: opening a reader store."""
    from watcher.store import Store

    runs = []
    for _ in range(REQUESTS):
        began = time.perf_counter()
        Store.open_read_only(database).close()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def dashboard(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory() as folder:
        database = str(Path(folder) / "watcher.db")
        filled = child_of("bench.overview_page", "fill", database, *(["--quick"] if quick else []))
        served = child_of("bench.overview_page", "serve", database)
    ms = 1000.0
    page, sql = served["page_s"] * ms, served["sql_s"] * ms
    note = (
        f"{filled['watches']} watches, {filled['events']:,} events, a list of"
        f" {filled['big_list']:,}; {served['html_bytes'] / 1024:.0f} KiB of HTML"
    )
    return [
        Figure(11, "GET / (median)", page, "ms", 150.0, note=note),
        Figure(
            11,
            "GET /, first (trending counted)",
            served["cold_s"] * ms,
            "ms",
            note="then kept until an event is recorded or a counted follow expires",
        ),
        Figure(11, "GET / against its SQL alone", page / sql, "x", 3.0, note=f"SQL {sql:.1f} ms"),
        Figure(11, "a size chart, drawn", served["chart_s"] * ms, "ms"),
        Figure(11, "a size chart, unchanged (kept)", served["chart_kept_s"] * ms, "ms"),
        Figure(
            11,
            "a reader connection opened",
            served["open_s"] * ms,
            "ms",
            note="kept per worker thread instead of per request",
        ),
    ]


def main() -> None:
    step, database = sys.argv[1], sys.argv[2]
    if step == "fill":
        print(json.dumps(fill(database, "--quick" in sys.argv[3:])))
    elif step == "serve":
        print(json.dumps(serve(database)))
    else:
        raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    main()
