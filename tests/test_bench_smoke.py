"""`python -m bench --quick` runs every scenario end to end and writes its figures.

Only what does not depend on the machine's pace is held to its target here: sizes, the
rate cap, exactly-once deliveries. Timing verdicts are the benchmark's to give, not a test's.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACE_FREE = (
    "peak RSS",
    "database growth",
    "busiest second at the simulator",
    "POSTs the receiver took",
)


def test_the_quick_bench_measures_every_scenario_and_keeps_its_pace_free_targets(
    tmp_path: Path,
) -> None:
    out = tmp_path / "figures.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr[-2000:]  # 1: some target missed
    report = json.loads(out.read_text(encoding="utf-8"))
    figures = report["figures"]
    assert report["quick"] is True
    assert {f["scenario"] for f in figures} == set(range(1, 12))
    assert all(math.isfinite(f["value"]) and f["value"] >= 0 for f in figures)
    held = [f for f in figures if f["name"].startswith(PACE_FREE)]
    # 6 peak RSS (scenario 10's export and its ratio included), 2 growths, the rate cap, the
    # POST count.
    assert len(held) == 10
    assert [f["name"] for f in held if f["met"] is False] == []  # None: a figure, no target
    assert run.stdout.splitlines()[0].split() == ["#", "figure", "measured", "target", "verdict"]
