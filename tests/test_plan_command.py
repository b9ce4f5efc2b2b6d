"""`watcher plan`, and `watcher once` living within the plan: real processes on a real database
against the simulated Audius."""

from __future__ import annotations

import calendar
import json
import re
import time
from pathlib import Path

from tests.commands import run_watcher
from tests.world import config_file

WATCH_KEYS = {
    "platform",
    "account",
    "configured_account",
    "relation",
    "requests_per_poll",
    "interval_s",
    "planned_interval_s",
    "requests_per_month",
}
QUOTA_KEYS = {"per_month", "per_day", "used_month", "used_day", "projected_month", "resets_at"}
SKIPPED = re.compile(
    r"^skipped audius curator following: planned every (\S+(?: \S+)?) to stay within the"
    r" monthly quota; next at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$",
    re.M,
)


def tight(tmp_path: Path, curator_url: str, per_month: int = 1_000) -> Path:
    """curator's 30 follows (2 requests a poll) every 15 minutes: 5,760 requests a month."""
    return config_file(
        tmp_path,
        curator_url,
        defaults={"interval": "15m"},
        audius={"requests_per_month": per_month},
    )


def test_plan_json_prints_each_watch_then_each_platform_with_exactly_the_documented_keys(
    tmp_path: Path, curator_url: str
) -> None:
    config = tight(tmp_path, curator_url)
    assert run_watcher(config, "once").returncode == 0
    result = run_watcher(config, "plan", "--json")
    assert result.returncode == 0, result.stderr
    watch, platform = (json.loads(line) for line in result.stdout.splitlines())
    assert set(watch) == WATCH_KEYS
    assert (watch["platform"], watch["account"], watch["relation"]) == (
        "audius",
        "curator",
        "following",
    )
    assert watch["requests_per_poll"] == 2  # its profile and one page of 30
    assert watch["interval_s"] == 900
    # 950 requests left (5% reserve) for the rest of the month: stretched well past 15m
    assert watch["planned_interval_s"] > 900
    # a whole month at that pace; only what is left of this one must fit the quota
    month = 86400 * calendar.monthrange(*time.gmtime()[:2])[1]
    assert watch["requests_per_month"] == round(2 * month / watch["planned_interval_s"])
    assert set(platform) == {"platform", "quota"} and set(platform["quota"]) == QUOTA_KEYS
    quota = platform["quota"]
    assert quota["per_month"] == 1_000 and quota["per_day"] == 0
    assert quota["projected_month"] <= 950
    assert re.fullmatch(r"\d{4}-\d\d-01T00:00:00Z", quota["resets_at"])

    table = run_watcher(config, "plan")
    assert table.returncode == 0, table.stderr
    assert "(stretched)" in table.stdout
    assert "audius: quota 1,000 a month" in table.stdout


def test_plan_names_an_account_written_as_a_url_by_its_handle_once_polled(
    tmp_path: Path, curator_url: str
) -> None:
    config = config_file(tmp_path, curator_url, "https://audius.co/curator")
    before = json.loads(run_watcher(config, "plan", "--json").stdout.splitlines()[0])
    assert before["account"] == "https://audius.co/curator"

    assert run_watcher(config, "once").returncode == 0
    after = json.loads(run_watcher(config, "plan", "--json").stdout.splitlines()[0])
    table = run_watcher(config, "plan").stdout.splitlines()

    assert (after["account"], after["configured_account"]) == (
        "curator",
        "https://audius.co/curator",
    )
    assert table[1].split()[:3] == ["audius", "curator", "following"]


def test_within_the_quota_plan_keeps_the_configured_interval(
    tmp_path: Path, curator_url: str
) -> None:
    config = tight(tmp_path, curator_url, per_month=500_000)
    watch = json.loads(run_watcher(config, "plan", "--json").stdout.splitlines()[0])
    assert watch["planned_interval_s"] == watch["interval_s"] == 900
    # before its first poll and with no profile stored: the stated default, 11 requests
    assert watch["requests_per_poll"] == 11


def test_once_skips_a_stretched_watch_until_its_planned_poll_and_all_polls_it_anyway(
    tmp_path: Path, curator_url: str
) -> None:
    config = tight(tmp_path, curator_url)
    first = run_watcher(config, "once")
    assert first.returncode == 0, first.stderr
    assert "ok audius curator following: 30 entries" in first.stdout  # never polled: due

    second = run_watcher(config, "once")
    assert second.returncode == 0, second.stderr
    found = SKIPPED.search(second.stdout)
    assert found, second.stdout
    status = json.loads(run_watcher(config, "status", "--json").stdout.splitlines()[0])
    assert status["planned_interval_s"] > status["interval_s"] == 900
    assert status["next_poll_at"] == found.group(2)  # status estimates from the plan too

    forced = run_watcher(config, "once", "--all")
    assert forced.returncode == 0, forced.stderr
    assert "ok audius curator following: 30 entries" in forced.stdout
    assert "skipped" not in forced.stdout


def test_once_polls_an_unstretched_watch_on_every_run(tmp_path: Path, curator_url: str) -> None:
    config = tight(tmp_path, curator_url, per_month=500_000)
    for _ in range(2):
        result = run_watcher(config, "once")
        assert result.returncode == 0, result.stderr
        assert "ok audius curator following" in result.stdout
