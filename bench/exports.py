"""Scenario 10: `watcher list --format csv` of a 1,000,000-member list against SQLite reading
the same rows, and the export's peak memory against a 10,000-member export's (flat memory).

The database is filled straight through SQL (a baseline poll of a million followers is
scenario 3's figure, and takes minutes): one followers watch, its members' edges and
profiles, as a baseline poll leaves them. Each measured step runs in its own process.

    python -m bench.exports fill DB MEMBERS
    python -m bench.exports read DB        # SQLite reading the rows `list` reads
    python -m bench.exports export CONFIG  # `watcher list --format csv` into a file
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.scenarios import Figure, child_of

WATCH_KEY = "audius:star:followers"


def fill(database: str, members: int) -> dict[str, Any]:
    from watcher.store import Store

    store = Store.open(database)
    watch = store.watches.ensure(WATCH_KEY, "audius", "star", "followers", "2026-11-01T00:00:00Z")
    conn = store.db.conn
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO accounts (platform, id, handle, name, url, follower_count,"
        " following_count, is_verified, deactivated, counted_on)"
        " VALUES ('audius', 'star', 'star', 'Star', 'https://audius.co/star', ?, 0, 1, 0,"
        " '2026-11-01')",
        [members],
    )
    conn.executemany(
        "INSERT INTO accounts (platform, id, handle, name, url, follower_count,"
        " following_count, is_verified, deactivated, counted_on)"
        " VALUES ('audius', ?, ?, ?, ?, ?, 10, ?, 0, '2026-11-01')",
        (
            (f"u{i}", f"fan_{i}", f"Fan {i}", f"https://audius.co/fan_{i}", i % 5000, i % 97 == 0)
            for i in range(members)
        ),
    )
    conn.executemany(
        "INSERT INTO edges (watch_id, target_id, state, since, joined_at)"
        " VALUES (?, ?, 'present', '2026-11-01T00:00:00Z', ?)",
        ((watch.id, f"u{i}", f"2026-11-{1 + i % 28:02d}T00:00:00Z") for i in range(members)),
    )
    conn.execute(
        "UPDATE watches SET account_id = 'star', baseline_at = '2026-11-01T00:00:00Z',"
        " last_poll_at = '2026-11-01T00:00:00Z', last_outcome = 'ok', size = ? WHERE id = ?",
        [members, watch.id],
    )
    conn.execute("COMMIT")
    store.checkpoint()
    store.close()
    return {"members": members}


def read(database: str) -> dict[str, Any]:
    """The rows `watcher list` writes, read from SQLite and dropped: the floor."""
    from watcher.store import Store

    store = Store.open(database)
    watch = store.watches.get(WATCH_KEY)
    assert watch is not None
    started = time.perf_counter()
    rows = sum(1 for _ in store.memberships.members(watch.id, "audius", exported=True))
    seconds = time.perf_counter() - started
    store.close()
    return {"seconds": seconds, "rows": rows}


def export(config: str) -> dict[str, Any]:
    """`watcher list ... --format csv` as the command runs it (config, store, query, writer),
    in this fresh process, its output written to a file (as a user exports). Interpreter
    start-up is left out: it is the same for every command (scenario 8's figure), not part
    of streaming a list."""
    import os

    from watcher.cli import main as watcher

    sys.argv = ["watcher", "--config", config, "list", "star", "--relation", "followers"]
    sys.argv += ["--format", "csv"]
    sys.stdout.flush()
    saved = os.dup(1)
    target = Path(config).with_suffix(".csv")
    os.dup2(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
    started = time.perf_counter()
    try:
        watcher()
    except SystemExit as exc:
        if exc.code:
            raise
    finally:
        sys.stdout.flush()
        seconds = time.perf_counter() - started
        os.dup2(saved, 1)
    with target.open("rb") as written:
        lines = sum(1 for _ in written)
    target.unlink()
    return {"seconds": seconds, "lines": lines, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _database(folder: Path, members: int) -> Path:
    database = folder / f"list-{members}.db"
    child_of("bench.exports", "fill", str(database), str(members))
    config = folder / f"list-{members}.toml"
    config.write_text(
        f'database = "{database}"\n\n[[watch]]\nplatform = "audius"\naccount = "star"\n'
        'relation = "followers"\n',
        encoding="utf-8",
    )
    return config


def list_export(quick: bool) -> list[Figure]:
    members, small, rounds = (50_000, 5_000, 1) if quick else (1_000_000, 10_000, 3)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        big = _database(folder, members)
        little = _database(folder, small)
        exports, reads = [], []
        for _ in range(rounds):  # interleaved, so drift on the machine hits both alike
            exports.append(child_of("bench.exports", "export", str(big)))
            reads.append(child_of("bench.exports", "read", str(folder / f"list-{members}.db")))
        little_export = child_of("bench.exports", "export", str(little))
    if any(e["lines"] != members + 1 for e in exports):
        raise RuntimeError("the export did not write one line per member and a header")
    export_s = statistics.median(e["seconds"] for e in exports)
    read_s = statistics.median(r["seconds"] for r in reads)
    peak = max(e["peak_rss_mb"] for e in exports)
    label = f"{members:,} members"
    return [
        Figure(10, f"watcher list --format csv, {label}", export_s, "s"),
        Figure(10, f"SQLite reading the same rows, {label}", read_s, "s"),
        Figure(10, "list export / SQLite read", export_s / read_s, "x", 2.0),
        Figure(10, f"peak RSS, list export of {label}", peak, "MB"),
        Figure(
            10,
            f"peak RSS, {label} / {small:,} members",
            peak / little_export["peak_rss_mb"],
            "x",
            1.25,
            note="memory flat: the list streams",
        ),
    ]


def main() -> None:
    kind, *args = sys.argv[1:]
    if kind == "fill":
        result = fill(args[0], int(args[1]))
    elif kind == "read":
        result = read(args[0])
    elif kind == "export":
        result = export(args[0])
    else:
        raise SystemExit(f"unknown step {kind!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
