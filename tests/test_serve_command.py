"""`watcher serve`: the dashboard, /healthz and /metrics of a database others poll (cron's
`watcher once`), as a real process: it never polls, stops on SIGTERM, and an address it
cannot bind is one line and exit 1."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.commands import run_watcher
from tests.daemons import Running, metric
from tests.world import config_file
from watcher.store import Store


def polls_recorded(database: Path) -> int:
    store = Store.open(database)
    try:
        return int(store.db.execute("SELECT COUNT(*) FROM polls").fetchone()[0])
    finally:
        store.close()


def test_serve_shows_what_cron_polled_never_polls_and_stops_on_sigterm(
    curator_url: str, tmp_path: Path, running: Callable[..., Running]
) -> None:
    config = config_file(tmp_path, curator_url)
    assert run_watcher(config, "once").returncode == 0
    before = polls_recorded(tmp_path / "watcher.db")
    server = running(config, "--listen", "127.0.0.1:0", command="serve")
    base = server.base_url()
    with httpx.Client(base_url=base, timeout=10) as http:
        overview = http.get("/")
        health = http.get("/healthz")
        scrape = http.get("/metrics")
    took = server.stop()
    assert overview.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", overview.text).split())
    assert "Curator @ curator" in text and "never polled" not in text
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "watches": 1, "failing_watches": 0}
    assert metric(scrape.text, "watcher_list_size", account="curator") == 30
    assert polls_recorded(tmp_path / "watcher.db") == before  # served, never polled
    assert server.process.returncode == 0 and took < 10
    assert server.lines[-1] == "watcher serve stopped"
    assert "Traceback" not in server.stderr


def test_serve_on_an_address_in_use_is_one_line_and_exit_1(
    curator_url: str, tmp_path: Path
) -> None:
    config = config_file(tmp_path, curator_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_watcher(config, "serve", "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"watcher serve: cannot listen on 127.0.0.1:{port}: address already in use"
    )


def test_serve_refuses_a_listen_that_is_not_host_and_port(curator_url: str, tmp_path: Path) -> None:
    config = config_file(tmp_path, curator_url)
    result = run_watcher(config, "serve", "--listen", "somewhere")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for --listen: 'somewhere' is not HOST:PORT (such as 127.0.0.1:8787)"
    )
