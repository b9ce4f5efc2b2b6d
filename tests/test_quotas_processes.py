"""Two real `watcher once` processes on one database share the quota and the request rate."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.commands import ROOT, run_watcher
from tests.world import AudiusWorld, SoundCloudWorld
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


def test_two_processes_keep_to_one_max_concurrent_together_counted_at_the_server(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    audius.sim.latency = 0.05  # requests last long enough to overlap
    audius.settings = {"requests_per_second": 200, "max_concurrent": 2}
    configs = []
    for name in ("one", "two"):
        audius.watches = []
        for index in range(3):
            curator = audius.sim.add_user(f"{name}{index}", f"{name} {index}")
            audius.sim.follow_many(curator, audius.sim.add_users(300, prefix=f"{name}{index}-"))
            audius.watches.append({"platform": "audius", "account": f"{name}{index}"})
        configs.append(audius.write_config(tmp_path / f"{name}.toml"))

    alone = _start(configs[0], tmp_path)  # alone, one process uses both slots
    _, err = alone.communicate(timeout=120)
    assert alone.returncode == 0, err
    assert audius.sim.most_in_flight == 2
    audius.sim.most_in_flight = 0
    audius.sim.reset_log()

    runs = [_start(config, tmp_path) for config in configs]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    assert audius.sim.request_count > 20  # both polled (the first watches again)
    assert audius.sim.most_in_flight == 2


def _start(config: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", "once", "--config", str(config)],
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_once_says_a_soundcloud_hold_in_one_line_and_exits_1(
    sc: SoundCloudWorld, tmp_path: Path
) -> None:
    sc.curator(30)
    sc.watch()
    reset = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    sc.sim.rate_limit("/followings", shape="documented", times=None, reset_time=reset)
    config = sc.write_config(tmp_path / "watcher.toml")
    first = run_watcher(config, "once")
    assert first.returncode == 1
    line = f"rate limited by soundcloud until {iso(reset)}"
    assert line in first.stdout + first.stderr
    listed = sum(1 for r in sc.sim.requests if r.path.endswith("/followings"))
    assert listed == 1  # no futile retry
    second = run_watcher(config, "once")  # another process: held, nothing listed
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [line]
    assert sum(1 for r in sc.sim.requests if r.path.endswith("/followings")) == listed
