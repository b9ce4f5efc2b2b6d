"""The benchmark scenarios of the Performance issue; each returns the figures it measured."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    scenario: int
    name: str
    value: float
    unit: str
    target: float | None = None
    # "max": value must be <= target; "min": value must be >= target.
    bound: str = "max"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target if self.bound == "max" else self.value >= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        return f"{'<=' if self.bound == 'max' else '>='} {self.target:g} {self.unit}".rstrip()

    def shown(self) -> str:
        text = (
            f"{self.value:.3g} {self.unit}"
            if self.value < 100
            else f"{self.value:,.0f} {self.unit}"
        )
        return f"{text.rstrip()}{f'  ({self.note})' if self.note else ''}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "bound": self.bound,
            "met": self.met,
            "note": self.note,
        }


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


class SimProcess:
    """A simulator in its own process; `stats` holds its request counts once it has stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stats: dict[str, Any] = {}


@contextmanager
def sim_process(*args: str) -> Iterator[SimProcess]:
    """A simulator in its own process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sim_server", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http"):
            raise RuntimeError("the simulator did not start")
        sim = SimProcess(line)
        yield sim
    finally:
        assert process.stdin is not None
        process.stdin.close()
        rest = process.stdout.read() if process.stdout else ""
        process.wait(timeout=60)
    sim.stats = json.loads(rest.strip().splitlines()[-1])


def child(*args: str) -> dict[str, Any]:
    """Run one measured step of bench.children in a fresh process; its JSON figures."""
    return child_of("bench.children", *args)


def child_of(module: str, *args: str) -> dict[str, Any]:
    """Run one measured step of `module` in a fresh process and return its JSON figures."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=env(),
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed: {result.stderr.strip()[-500:]}")
    value: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return value


def pages_for(entries: int, page_size: int = 100) -> int:
    """Pages a single offset pass reads: full pages, then the short (maybe empty) last one."""
    return entries // page_size + 1


def _poll_vs_bare(
    scenario: int, relation: str, size: int, rss_target: float, ratio_target: float, rounds: int
) -> list[Figure]:
    flag = "--following" if relation == "following" else "--followers"
    with sim_process(flag, str(size)) as sim, tempfile.TemporaryDirectory() as folder:
        url = sim.url
        database = str(Path(folder) / "bench.db")
        baseline = child("poll", url, database, "star", relation)
        quiet: list[dict[str, Any]] = []
        bare: list[dict[str, Any]] = []
        for _ in range(rounds):  # interleaved, so drift on the machine hits both alike
            quiet.append(child("poll", url, database, "star", relation))
            bare.append(child("bare", url, "star", relation, str(pages_for(size))))
    if any(q["events"] for q in quiet):
        raise RuntimeError("a quiet poll emitted events: the benchmark world is not stable")
    quiet_s = statistics.median(q["seconds"] for q in quiet)
    bare_s = statistics.median(b["seconds"] for b in bare)
    passes = max(q["passes"] for q in quiet)
    label = f"{relation} {size:,}"
    return [
        Figure(scenario, f"baseline poll, {label}", baseline["seconds"], "s"),
        Figure(scenario, f"quiet poll, {label}", quiet_s, "s", note=f"{passes} pass(es)"),
        Figure(scenario, f"bare httpx fetch of the same pages, {label}", bare_s, "s"),
        Figure(scenario, "quiet poll / bare fetch", quiet_s / bare_s, "x", ratio_target),
        Figure(
            scenario,
            "peak RSS, baseline poll process",
            baseline["peak_rss_mb"],
            "MB",
            rss_target,
        ),
        Figure(
            scenario,
            "peak RSS, quiet poll process",
            max(q["peak_rss_mb"] for q in quiet),
            "MB",
            rss_target,
        ),
    ]


def quiet_poll_30k(quick: bool) -> list[Figure]:
    """1-2: quiet poll of an account following 30,000 vs a bare httpx loop; peak RSS."""
    size = 3_000 if quick else 30_000
    figures = _poll_vs_bare(1, "following", size, 150.0, 1.2, rounds=1 if quick else 3)
    for figure in figures:
        if figure.name.startswith("peak RSS"):
            figure.scenario = 2
    return figures


def followers_1m(quick: bool) -> list[Figure]:
    """3: a followers watch of an account with 1,000,000 followers: baseline and quiet poll."""
    size = 20_000 if quick else 1_000_000
    return _poll_vs_bare(3, "followers", size, 250.0, 1.3, rounds=1)


def database_growth(quick: bool) -> list[Figure]:
    """4: database growth per quiet poll and per event."""
    from bench.growth import measure_growth

    per_poll, per_event, events = measure_growth(
        follows=500 if quick else 2_000, quiet_polls=50 if quick else 200
    )
    return [
        Figure(4, "database growth per quiet poll", per_poll, "KiB", 4.0),
        Figure(4, "database growth per event", per_event, "KiB", 1.0, note=f"{events} events"),
    ]


def fleet(quick: bool) -> list[Figure]:
    """5: 2,000 watches x 200 follows, 20 ms latency, a budget of 32 concurrent requests."""
    accounts, follows, latency, concurrency = (
        (200, 50, 0.02, 32) if quick else (2000, 200, 0.02, 32)
    )
    rate = 2000.0  # requests per second cap: above 32 / 20 ms, so concurrency sets the pace
    with (
        sim_process(
            "--fleet", str(accounts), "--fleet-follows", str(follows), "--latency", str(latency)
        ) as sim,
        tempfile.TemporaryDirectory() as folder,
    ):
        result = child(
            "fleet",
            sim.url,
            str(Path(folder) / "fleet.db"),
            str(accounts),
            str(rate),
            str(concurrency),
        )
    figures = []
    for name in ("baseline", "quiet"):
        cycle = result[name]
        ideal = cycle["requests"] * latency / concurrency
        figures.append(
            Figure(
                5,
                f"{name} cycle, {accounts:,} watches",
                cycle["seconds"],
                "s",
                note=f"{cycle['requests']:,} requests, ideal {ideal:.2f} s",
            )
        )
        figures.append(Figure(5, f"{name} cycle / ideal", cycle["seconds"] / ideal, "x", 1.25))
        figures.append(
            Figure(
                5,
                f"watcher CPU per request, {name} cycle",
                cycle["cpu_seconds"] / cycle["requests"] * 1e6,
                "µs",
                note=f"the ideal pace leaves {1e6 * latency / concurrency:,.0f} µs a request",
            )
        )
    references = (
        ("bare", "bare httpx clients, json(), same requests"),
        ("floor", "httpx transports only, bodies not decoded"),
        ("aiohttp_floor", "one aiohttp session only, bodies not decoded"),
        ("client_and_decoder", "watcher's HTTP client and page decoder only"),
    )
    for key, label in references:
        reference = result[key]
        ideal = reference["requests"] * latency / concurrency
        figures.append(
            Figure(
                5,
                f"{label}, {concurrency} at a time",
                reference["seconds"],
                "s",
                note=f"{reference['requests']:,} requests, "
                f"{reference['seconds'] / ideal:.2f}x their ideal, "
                f"{reference['cpu_seconds'] / reference['requests'] * 1e6:,.0f} µs CPU each",
            )
        )
        figures.append(
            Figure(
                5,
                f"quiet cycle / {key}",
                result["quiet"]["seconds"] / reference["seconds"],
                "x",
            )
        )
    figures.append(
        Figure(5, "busiest second at the simulator", sim.stats["busiest_second"], "req/s", rate)
    )
    served = sim.stats["requests"]
    figures.append(
        Figure(
            5,
            "simulator CPU per request it served",
            sim.stats["serving_cpu_seconds"] / served * 1e6,
            "µs",
            note=f"{sim.stats['serving_sys_seconds'] / served * 1e6:.0f} µs of it in the kernel;"
            f" {served:,} requests; the ideal pace needs {concurrency / latency:,.0f}/s",
        )
    )
    return figures


@contextmanager
def receiver_process() -> Iterator[SimProcess]:
    """A webhook receiver in its own process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.receiver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stdin is not None
    receiver = SimProcess(process.stdout.readline().strip())
    try:
        yield receiver
    finally:
        process.stdin.close()
        rest = process.stdout.read()
        process.wait(timeout=30)
    receiver.stats = json.loads(rest.strip().splitlines()[-1])


def deliveries(quick: bool) -> list[Figure]:
    """6: 10,000 pending webhook deliveries drained, against a bare httpx loop."""
    count = 1_000 if quick else 10_000
    rounds = 1 if quick else 3
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    with receiver_process() as receiver, tempfile.TemporaryDirectory() as folder:
        for n in range(rounds):  # alternated, so drift on the machine hits both alike
            ours.append(child("drain", str(Path(folder) / f"a{n}.db"), receiver.url, str(count)))
            bare.append(
                child("bare_post", str(Path(folder) / f"b{n}.db"), receiver.url, str(count))
            )
    if any(run["delivered"] != count for run in ours):
        raise RuntimeError(f"a drain delivered fewer than {count} deliveries")
    ours_seconds = statistics.median(run["seconds"] for run in ours)
    bare_seconds = statistics.median(run["seconds"] for run in bare)
    ours_rate, bare_rate = count / ours_seconds, count / bare_seconds
    return [
        Figure(6, f"dispatcher, {count:,} webhook deliveries", ours_rate, "per s"),
        Figure(6, "bare httpx loop, same bodies, one at a time", bare_rate, "per s"),
        Figure(6, "dispatcher rate / bare rate", ours_rate / bare_rate, "x", 0.8, bound="min"),
        Figure(6, "POSTs the receiver took", receiver.stats["received"], "", 2 * count * rounds),
    ]


def adversity_modes(quick: bool) -> list[Figure]:
    """7: requests a quiet poll of 2,000 follows costs, per simulator adversity mode."""
    from bench.modes import measure_mode
    from watcher.sim.adversity import MODES

    follows, quiet_polls = (500, 2) if quick else (2_000, 5)
    # The honest floor: one profile, then full pages of 100 (the count says when to stop).
    floor = 1 + -(-follows // 100)
    figures = []
    for mode in MODES:
        cost = measure_mode(mode, follows, quiet_polls)
        low, high = min(cost.quiet_requests), max(cost.quiet_requests)
        note = f"{low}-{high}, baseline {cost.baseline_requests}"
        if cost.events:
            note += f", {cost.events} events"
        if cost.failed:
            note += f", {cost.failed} failed"
        figures.append(
            Figure(
                7,
                f"requests per quiet poll, {mode}, {follows:,} follows",
                cost.mean,
                "",
                floor if mode == "honest" else None,
                note=note,
            )
        )
    distinct = measure_mode("honest", follows, quiet_polls, followers=lambda i: 7 * i + 3)
    figures.append(
        Figure(
            7,
            f"requests per quiet poll, honest, no tied counts, {follows:,} follows",
            distinct.mean,
            "",
            floor,
            note="counts 7i+3; the worlds above tie",
        )
    )
    return figures


def startup(quick: bool) -> list[Figure]:
    """8: start-up: `--version` and a whole-process quiet poll, against their floors."""
    from bench.startup import startup as measure

    return measure(quick)


def counts_check(quick: bool) -> list[Figure]:
    """9: check = "counts": requests per quiet poll of 2,000 follows, and what it delays."""
    from bench.counts import measure_check

    follows, polls, every = 2_000, 12, 4  # in-process and a few seconds: no smaller quick size
    full, counts = measure_check("full", follows, polls), measure_check("counts", follows, polls)
    if full.false_events or counts.false_events:
        raise RuntimeError("a poll reported an event nobody made: the benchmark world is broken")
    label = f"{follows:,} follows, {polls} polls"
    figures = [
        Figure(9, f"requests per quiet poll, check = full, {label}", full.mean, "", note="today"),
        Figure(
            9,
            f"requests per quiet poll, check = counts, full_every {every}, {label}",
            counts.mean,
            "",
            6,
            note=f"{min(counts.quiet_requests)}-{max(counts.quiet_requests)} a poll",
        ),
    ]
    for cost in (full, counts):
        follow = max(pair.follow for pair in cost.pairs)
        unfollow = max(pair.unfollow for pair in cost.pairs)
        counted = cost.check == "counts"
        figures.append(
            Figure(
                9,
                f"polls to report a follow + unfollow in one interval, check = {cost.check}",
                follow,
                "",
                every if counted else None,
                note=f"worst of {len(cost.pairs)} phases: follow reported, unfollow seen",
            )
        )
        figures.append(
            Figure(
                9,
                f"polls until that unfollow is confirmed, check = {cost.check}",
                unfollow,
                "",
                every + 1 if counted else None,
                note="absence is believed a poll after it is seen" if counted else "",
            )
        )
    return figures


def list_export(quick: bool) -> list[Figure]:
    """10: `watcher list --format csv` of 1,000,000 members against SQLite's read; memory."""
    from bench.exports import list_export as measure

    return measure(quick)


def dashboard(quick: bool) -> list[Figure]:
    """11: the dashboard, feeds and API: each route served over loopback against its SQL."""
    from bench.dashboard import dashboard as measure

    return measure(quick)


SCENARIOS: dict[int, Callable[[bool], list[Figure]]] = {
    1: quiet_poll_30k,
    3: followers_1m,
    4: database_growth,
    5: fleet,
    6: deliveries,
    7: adversity_modes,
    8: startup,
    9: counts_check,
    10: list_export,
    11: dashboard,
}
