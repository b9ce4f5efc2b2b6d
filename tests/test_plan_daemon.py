"""`watcher run` on the quota plan: a real daemon process, its log lines and its /metrics."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.daemons import Running, polls_of, wait_until
from tests.world import config_file


def daemon_config(tmp_path: Path, curator_url: str, per_month: int) -> Path:
    """curator's 30 follows every 2 s (2 requests a poll: 2.6 million a month)."""
    return config_file(
        tmp_path,
        curator_url,
        defaults={"interval": "2s", "jitter": "0s"},
        audius={"requests_per_month": per_month},
        tables={"http": {"listen": "127.0.0.1:0"}},
    )


NEXT = r"next poll of audius curator following at \S+ \(in (\d+[dhms](?: \d+[dhms])?)\)"


def seconds(wait: str) -> int:
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(part[:-1]) * units[part[-1]] for part in wait.split())


def test_the_daemon_polls_on_the_planned_interval_and_says_so_once(
    tmp_path: Path, curator_url: str, running: Callable[[Path], Running]
) -> None:
    daemon = running(daemon_config(tmp_path, curator_url, per_month=1_000))
    daemon.wait_for_line(r"ok audius curator following: 30 entries")
    plans = wait_until(
        lambda: [m.group(1) for line in list(daemon.lines) if (m := re.search(NEXT, line))][1:],
        f"no plan after the poll:\n{daemon.stderr}",
    )
    # 950 requests for the rest of the month at 2 a poll: far past the configured 2 s
    assert seconds(plans[0]) > 60, daemon.stderr
    announced = [line for line in daemon.lines if "quota plan for audius" in line]
    # At the start (the watch's cost estimated at 11 requests: nothing known of it yet), and
    # once its poll measured 2: the stretch moved fivefold. Not one line per poll.
    assert len(announced) == 2, daemon.stderr
    assert "1 of 1 watch(es) polled less often to stay within the monthly quota" in announced[0]
    assert "curator following every" in announced[1] and announced[1] != announced[0]

    metrics = httpx.get(daemon.base_url() + "/metrics", timeout=5).text
    planned = re.search(
        r'^watcher_watch_planned_interval_seconds\{account="curator",'
        r'configured_account="curator",platform="audius",relation="following"\} (\S+)$',
        metrics,
        re.M,
    )
    assert planned and float(planned.group(1)) > 60
    projected = re.search(
        r'^watcher_quota_projected\{period="month",platform="audius"\} (\S+)$', metrics, re.M
    )
    assert projected and float(projected.group(1)) <= 950
    assert polls_of(tmp_path / "watcher.db", "curator") == 1
    assert daemon.stop() < 10 and daemon.process.returncode == 0, daemon.stderr


def test_within_the_quota_the_daemon_keeps_the_configured_interval(
    tmp_path: Path, curator_url: str, running: Callable[[Path], Running]
) -> None:
    daemon = running(daemon_config(tmp_path, curator_url, per_month=100_000_000))
    database = tmp_path / "watcher.db"
    wait_until(lambda: polls_of(database, "curator") >= 3, f"too few polls:\n{daemon.stderr}")
    assert not [line for line in daemon.lines if "quota plan" in line]
    metrics = httpx.get(daemon.base_url() + "/metrics", timeout=5).text
    assert re.search(r"^watcher_watch_planned_interval_seconds\{.*\} 2\.0$", metrics, re.M)
    assert daemon.stop() < 10 and daemon.process.returncode == 0, daemon.stderr
