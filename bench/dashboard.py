"""Scenario 11: the dashboard, its feeds and its JSON API served over loopback from a database
of 200 watches and 100,000 events, one of them a list of 1,000,000 followers: the median time
to serve each route, against the time of the SQL the route runs, timed alone.

The database is filled straight through SQL, as a long-running watcher would have left it
(baselines, a month of polls and events, the history of every membership). The server runs in
a process of its own: `watcher serve` once that command exists, else this package's feeds and
API alone (`watcher.web.testing`). A route it does not serve (404) is left out with a note.
A route's SQL is what its module lists in `ROUTE_READS` (see `watcher/web/reads.py`), run
over a read-only connection as the route runs it; a route whose module lists none gets no
ratio, with a note.

    python -m bench.dashboard fill DB WATCHES EVENTS MEMBERS
    python -m bench.dashboard serve CONFIG PORT     # the feeds and API, until stdin closes
    python -m bench.dashboard sql CONFIG ROUNDS ROUTES_JSON
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench.scenarios import ROOT, Figure, child_of, env

STAR = "star"  # the account with the big followers list
PAGE_MS, SQL_RATIO = 150.0, 3.0
# The pages: each within PAGE_MS and within SQL_RATIO of its SQL. The feeds and the
# API are held to PAGE_MS; their ratio is shown.
PAGES = ("/", "/events", "/accounts/{platform}/{id}")


# -- the database ------------------------------------------------------------------------------


def watched(number: int) -> tuple[str, str]:
    """(account, relation) of watch `number`: 0 is `star`'s followers, the rest follow."""
    return (STAR, "followers") if number == 0 else (f"acct{number}", "following")


def fill(database: str, watches: int, events: int, members: int) -> dict[str, Any]:
    """Watch 0 is `star`'s followers (`members` of them); the others follow 100 accounts
    each; `events` events over the last 30 days, every fifth on `star`'s list, every third
    an unfollow (with its membership's past period); 30 daily polls per watch."""
    from watcher.clock import iso
    from watcher.store import Store

    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=30)
    store = Store.open(database)
    rows = []
    for number in range(watches):
        account, relation = watched(number)
        key = f"audius:{account}:{relation}"
        rows.append(store.watches.ensure(key, "audius", account, relation, iso(start)))
    conn = store.db.conn
    conn.execute("BEGIN")
    day, joined = start.date().isoformat(), iso(start)
    conn.executemany(
        "INSERT INTO accounts (platform, id, handle, name, url, follower_count,"
        " following_count, is_verified, deactivated, counted_on)"
        " VALUES ('audius', ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        [
            *(
                (
                    f"u{i}",
                    f"fan_{i}",
                    f"Fan {i}",
                    f"https://audius.co/fan_{i}",
                    i % 5000,
                    10,
                    i % 97 == 0,
                    day,
                )
                for i in range(members)
            ),
            *(
                (
                    row.account,
                    row.account,
                    row.account.title(),
                    f"https://audius.co/{row.account}",
                    members if row.account == STAR else 500,
                    100,
                    0,
                    day,
                )
                for row in rows
            ),
        ],
    )
    conn.executemany(
        "INSERT INTO edges (watch_id, target_id, state, since, joined_at)"
        " VALUES (?, ?, 'present', ?, ?)",
        (
            (row.id, f"u{i}", joined, joined)
            for row in rows
            for i in (
                range(members)
                if row.account == STAR
                else ((row.id * 7919 + k) % members for k in range(100))
            )
        ),
    )
    _events(conn, rows, events, members, start, now)
    conn.executemany(
        "INSERT INTO polls (watch_id, started_at, duration_ms, outcome, size, passes, pages,"
        " requests, complete) VALUES (?, ?, 900, 'ok', ?, 1, ?, ?, 1)",
        (
            (
                row.id,
                iso(start + timedelta(days=d, minutes=row.id % 60)),
                size,
                size // 100 + 1,
                size // 100 + 2,
            )
            for row in rows
            for size in [members if row.account == STAR else 100]
            for d in range(30)
        ),
    )
    conn.executemany(
        "UPDATE watches SET account_id = account, baseline_at = ?, last_poll_at = ?,"
        " last_outcome = 'ok', last_passes = 1, last_duration_ms = 900, size = ? WHERE id = ?",
        (
            (
                joined,
                iso(now - timedelta(minutes=5)),
                members if row.account == STAR else 100,
                row.id,
            )
            for row in rows
        ),
    )
    conn.execute("COMMIT")
    middle = conn.execute("SELECT id FROM events ORDER BY seq LIMIT 1 OFFSET ?", [events // 2])
    after = str(middle.fetchone()[0])
    store.checkpoint()
    store.close()
    return {
        "watches": watches,
        "events": events,
        "members": members,
        "middle_event": after,
        "joined": joined,
    }


def _events(
    conn: Any, rows: list[Any], events: int, members: int, start: datetime, now: datetime
) -> None:
    """The event log, as polls write it (`Event.to_json`), and the past membership period
    each unfollow ended."""
    from watcher.clock import iso
    from watcher.events import Event
    from watcher.platforms.base import Profile

    step = (now - start) / max(events, 1)
    others = rows[1:] or rows
    written, ended = [], []
    for k in range(events):
        row = rows[0] if k % 5 == 0 else others[k % len(others)]
        target = k % min(members, 200_000)
        event = Event.create(
            platform="audius",
            relation=row.relation,
            added=k % 3 != 2,
            account=Profile(
                row.account, row.account, row.account.title(), f"https://audius.co/{row.account}"
            ),
            target=Profile(
                f"u{target}",
                f"fan_{target}",
                f"Fan {target}",
                f"https://audius.co/fan_{target}",
                target % 5000,
            ),
            moment=start + step * k,
        )
        written.append(
            (
                event.id,
                row.id,
                event.type,
                event.timestamp,
                row.account,
                row.account,
                event.target.id,
                event.to_json(),
            )
        )
        if event.type.endswith(".removed"):
            ended.append((row.id, event.target.id, iso(start), event.timestamp))
    conn.executemany(
        "INSERT INTO events (id, watch_id, type, timestamp, account_id, account_handle,"
        " target_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        written,
    )
    conn.executemany(
        "INSERT INTO past_members (watch_id, target_id, joined_at, left_at) VALUES (?, ?, ?, ?)",
        ended,
    )


def write_config(folder: Path, database: Path, watches: int) -> Path:
    lines = [f'database = "{database}"', "", "[audius]", "requests_per_month = 0"]
    for number in range(watches):
        account, relation = watched(number)
        lines += ["", "[[watch]]", 'platform = "audius"', f'account = "{account}"']
        lines.append(f'relation = "{relation}"')
    config = folder / "watcher.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


# -- the routes --------------------------------------------------------------------------------


def routes(
    middle_event: str, joined: str, members: int, events: int
) -> list[tuple[str, dict[str, str]]]:
    """(route pattern, parameters by name): the dashboard's pages, then the feeds and API.
    The account is `star`, whose followers are the big list: its first page, a page
    seven-tenths down (its cursor: the member there, as the page before's `Next` link
    says), and a search for a handle held by a dozen of the million (every member looked
    at); `/events` first, and a page half-way down the log; `/api/events` reads 100 events
    from the middle of the log."""
    account = {"platform": "audius", "id": STAR}
    deep = {**account, "key": joined, "after": f"u{members * 7 // 10}"}
    return [
        ("/", {}),
        ("/events", {}),
        ("/events", {"before": str(events // 2)}),
        ("/accounts/{platform}/{id}", account),
        ("/accounts/{platform}/{id}", deep),
        ("/accounts/{platform}/{id}", {**account, "q": f"fan_{members // 80 + 12}"}),
        ("/feed.atom", {}),
        ("/accounts/{platform}/{id}/feed.atom", account),
        ("/api/events", {"after": middle_event, "limit": "100"}),
        ("/api/watches", {}),
    ]


def url_of(pattern: str, params: Mapping[str, str]) -> str:
    """The request for `pattern` with `params`: those the path names in it, the rest as the
    query."""
    path, query = pattern, dict(params)
    for name in list(query):
        if "{" + name + "}" in path:
            path = path.replace("{" + name + "}", quote(query.pop(name), safe=""))
    return f"{path}?{urlencode(query)}" if query else path


def route_reads() -> dict[str, Any]:
    """Every route's reads that a module of `watcher.web` lists in its `ROUTE_READS`."""
    import watcher.web

    found: dict[str, Any] = {}
    for module in pkgutil.iter_modules(watcher.web.__path__):
        loaded = importlib.import_module(f"watcher.web.{module.name}")
        found.update(getattr(loaded, "ROUTE_READS", {}))
    return found


def time_sql(config_path: str, rounds: int, wanted: list[list[Any]]) -> dict[str, Any]:
    """Each route's reads, `rounds` times inside a snapshot on a read-only connection, as
    the route runs them; the median seconds per route (None: its reads are not listed). And
    what opening a read-only store for each request would cost instead of keeping one."""
    from watcher.clock import SystemClock
    from watcher.config import load
    from watcher.store import Store
    from watcher.web.reads import Reading

    config = load(config_path)
    reads = route_reads()
    store = Store.open_read_only(config.database_path)
    medians: dict[str, float | None] = {}
    for pattern, params in wanted:
        read = reads.get(pattern)
        if read is None:
            medians[url_of(pattern, params)] = None
            continue
        seconds = []
        for _ in range(rounds + 1):  # the first warms the caches, as the server's did
            started = time.perf_counter()
            with store.snapshot():
                read(Reading(config, store, SystemClock().now()), params)
            seconds.append(time.perf_counter() - started)
        medians[url_of(pattern, params)] = statistics.median(seconds[1:])
    store.close()
    opens = []
    for _ in range(50):
        started = time.perf_counter()
        Store.open_read_only(config.database_path).close()
        opens.append(time.perf_counter() - started)
    return {"sql": medians, "open_s": statistics.median(opens)}


# -- the server --------------------------------------------------------------------------------


def serve(config_path: str, port: int) -> None:
    """This package's feeds and API on 127.0.0.1:`port` until stdin closes."""
    import asyncio

    from aiohttp import web

    from watcher.config import load
    from watcher.web.testing import feeds_app

    async def run() -> None:
        runner = web.AppRunner(feeds_app(load(config_path)))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(run())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_command(config: Path, port: int) -> tuple[list[str], str]:
    """`watcher serve` when this watcher has it, else the feeds and API alone."""
    probe = subprocess.run(
        [sys.executable, "-m", "watcher", "serve", "--help"],
        capture_output=True,
        env=env(),
        cwd=ROOT,
        check=False,
    )
    if probe.returncode == 0:
        listen = f"127.0.0.1:{port}"
        return [
            sys.executable,
            "-m",
            "watcher",
            "--config",
            str(config),
            "serve",
            "--listen",
            listen,
        ], "watcher serve"
    return [
        sys.executable,
        "-m",
        "bench.dashboard",
        "serve",
        str(config),
        str(port),
    ], "the feeds and API alone"


@contextmanager
def server(config: Path) -> Iterator[tuple[str, str]]:
    """(base URL, what serves it), listening until the block ends."""
    port = _free_port()
    command, what = _server_command(config, port)
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env(), cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start listening") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", what
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.terminate()
        process.wait(timeout=30)


def time_http(base_url: str, paths: list[str], rounds: int) -> dict[str, float | None]:
    """The median seconds of a GET of each path, the whole body read, over one kept-alive
    connection (the standard library's client: the least a client can add), after a
    warm-up; None for a path the server does not serve (404)."""
    from http.client import HTTPConnection
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    connection = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)

    def get(path: str) -> tuple[int, bytes]:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read()

    medians: dict[str, float | None] = {}
    try:
        for path in paths:
            status, body = get(path)
            if status == 404:
                medians[path] = None
                continue
            if status != 200:
                raise RuntimeError(f"GET {path}: HTTP {status}: {body[:200]!r}")
            seconds = []
            for _ in range(rounds):
                started = time.perf_counter()
                get(path)
                seconds.append(time.perf_counter() - started)
            medians[path] = statistics.median(seconds)
    finally:
        connection.close()
    return medians


def dashboard(quick: bool) -> list[Figure]:
    watches, events, members, rounds = (
        (20, 5_000, 20_000, 5) if quick else (200, 100_000, 1_000_000, 15)
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database = folder / "dashboard.db"
        filled = child_of(
            "bench.dashboard", "fill", str(database), str(watches), str(events), str(members)
        )
        config = write_config(folder, database, watches)
        wanted = routes(filled["middle_event"], filled["joined"], members, events)
        paths = [url_of(pattern, params) for pattern, params in wanted]
        with server(config) as (base_url, what):
            served = time_http(base_url, paths, rounds)
        timed = child_of("bench.dashboard", "sql", str(config), str(rounds), json.dumps(wanted))
    label = f"{watches} watches, {events:,} events, {members:,} followers of {STAR}"
    figures = [
        Figure(
            11,
            f"opening a read-only store per request, {label}",
            timed["open_s"] * 1000,
            "ms",
            note="kept per app instead",
        )
    ]
    for (pattern, _), path in zip(wanted, paths, strict=True):
        http_s, sql_s = served[path], timed["sql"][path]
        shown = _shown(pattern, path)
        if http_s is None:
            print(f"scenario 11: {what} does not serve {shown} yet: left out", file=sys.stderr)
            continue
        figures.append(Figure(11, f"GET {shown}", http_s * 1000, "ms", PAGE_MS, note=what))
        if sql_s is None:
            print(f"scenario 11: {pattern} lists no ROUTE_READS: no SQL ratio", file=sys.stderr)
            continue
        figures.append(Figure(11, f"SQL of {shown}", sql_s * 1000, "ms"))
        page = pattern in PAGES  # the ratio target is for its pages
        figures.append(
            Figure(
                11,
                f"GET {shown} / its SQL",
                http_s / sql_s,
                "x",
                SQL_RATIO if page else None,
                note="" if page else "no target: the issue's is for its pages",
            )
        )
    return figures


def _shown(pattern: str, path: str) -> str:
    """A route as the figures name it: its pattern, and what its query asks for."""
    query = path.partition("?")[2]
    return f"{pattern}?{query.replace('&', ', ')}" if query else pattern


def main() -> None:
    kind, *args = sys.argv[1:]
    if kind == "fill":
        result = fill(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif kind == "sql":
        result = time_sql(args[0], int(args[1]), json.loads(args[2]))
    elif kind == "serve":
        serve(args[0], int(args[1]))
        return
    else:
        raise SystemExit(f"unknown step {kind!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
