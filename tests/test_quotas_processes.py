"""Two real `watcher once` processes on one database share the quota and the request rate."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.commands import ROOT, run_watcher
from tests.world import AudiusWorld
from watcher.clock import iso
from watcher.http.quota import next_month
from watcher.sim.http import SimRequest
from watcher.store import Store

RATE = 20


def test_two_processes_keep_to_one_rate_together_counted_at_the_server(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    arrivals: list[float] = []
    lock = threading.Lock()

    @audius.sim.on_request
    def arrived(request: SimRequest) -> None:
        with lock:
            arrivals.append(time.monotonic())

    for name in ("one", "two"):
        curator = audius.sim.add_user(name, name.title())
        audius.sim.follow_many(curator, audius.sim.add_users(800, prefix=name))
    audius.settings = {"requests_per_second": RATE}
    configs = []
    for name in ("one", "two"):
        audius.watches = [{"platform": "audius", "account": name}]
        configs.append(audius.write_config(tmp_path / f"{name}.toml"))
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "watcher", "once", "--config", str(config)],
            cwd=tmp_path,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in configs
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    arrivals.sort()
    busiest = max(
        sum(1 for t in arrivals[i:] if t < start + 1.0) for i, start in enumerate(arrivals)
    )
    assert len(arrivals) > 3 * RATE  # both polled, for several seconds
    assert busiest <= RATE
    store = Store.open(audius.db_path)
    try:
        counted = store.quotas.used("audius", datetime.now(UTC))
    finally:
        store.close()
    assert counted.month == len(arrivals)  # both processes' requests, in one count


def test_once_says_a_spent_quota_in_one_line_and_exits_1(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    audius.curator(10)
    audius.watch()
    audius.watch("curator", relation="followers")
    audius.settings["requests_per_month"] = 40
    config = audius.write_config(tmp_path / "watcher.toml")
    store = Store.open(audius.db_path)
    store.quotas.count("audius", 40, datetime.now(UTC))
    store.close()
    result = run_watcher(config, "once")
    assert result.returncode == 1
    resets = iso(next_month(datetime.now(UTC)))
    assert result.stderr.strip().splitlines() == [
        f"quota spent: audius 40/40 requests this month (resets {resets})"
    ]
    assert audius.sim.request_count == 0
