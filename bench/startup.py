"""Scenario 8: commands that start fast, measured as whole processes (median of 9 runs each,
the two sides of each ratio alternated so machine drift hits both alike).

* `watcher --version` against `python -c "import click, pydantic"` (the floor of any command).
* `watcher once` quietly polling an account that follows 30,000 against a bare paginated httpx
  fetch of the same pages, both as their own process, start-up included: what a cron run costs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.scenarios import ROOT, Figure, env, pages_for, sim_process


def _timed(command: list[str], cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command[2:]} failed: {result.stderr.strip()[-300:]}")
    return elapsed


def _alternated(
    runs: int, first: Callable[[], float], second: Callable[[], float]
) -> tuple[float, float]:
    a, b = [], []
    for _ in range(runs):
        a.append(first())
        b.append(second())
    return statistics.median(a), statistics.median(b)


def startup(quick: bool) -> list[Figure]:
    runs = 3 if quick else 9
    python = sys.executable
    version, floor = _alternated(
        runs,
        lambda: _timed([python, "-m", "watcher", "--version"]),
        lambda: _timed([python, "-c", "import click, pydantic"]),
    )
    size = 3_000 if quick else 30_000
    with sim_process("--following", str(size)) as sim, tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "watcher.toml"
        config.write_text(
            'database = "bench.db"\n'
            f'[audius]\nbase_url = "{sim.url}"\nrequests_per_second = 10000\n'
            '[[watch]]\nplatform = "audius"\naccount = "star"\n',
            encoding="utf-8",
        )
        once = [python, "-m", "watcher", "once", "--config", str(config)]
        _timed(once)  # the baseline
        bare = [python, "-m", "bench.children", "bare", sim.url, "star", "following"]
        bare.append(str(pages_for(size)))
        poll, fetch = _alternated(runs, lambda: _timed(once), lambda: _timed(bare))
    label = f"following {size:,}"
    return [
        Figure(8, "watcher --version", version, "s"),
        Figure(8, 'python -c "import click, pydantic"', floor, "s"),
        Figure(8, "--version / import click, pydantic", version / floor, "x", 1.5),
        Figure(8, f"watcher once, quiet poll, {label} (whole process)", poll, "s"),
        Figure(8, f"bare httpx fetch of the same pages (whole process), {label}", fetch, "s"),
        Figure(8, "quiet poll process / bare fetch process", poll / fetch, "x", 1.2),
    ]
