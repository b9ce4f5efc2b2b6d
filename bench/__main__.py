"""`python -m bench [--quick] [--only 1,3] [--json PATH]`: the performance targets, measured.

Every verdict is a ratio or a size measured in the same run, against the simulator over
loopback, so a slower machine changes the figures but not the verdicts.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

from bench.scenarios import SCENARIOS, Figure


def describe_machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", default="", help="comma-separated scenario numbers")
    parser.add_argument("--json", default="bench-results.json", help="where to write figures")
    args = parser.parse_args(argv)
    wanted = {int(n) for n in args.only.split(",") if n.strip()}
    figures: list[Figure] = []
    for number, scenario in SCENARIOS.items():
        if wanted and number not in wanted:
            continue
        print(
            f"scenario {number}: {scenario.__doc__.splitlines()[0] if scenario.__doc__ else ''}",
            file=sys.stderr,
            flush=True,
        )
        figures.extend(scenario(args.quick))
    print(table(figures))
    Path(args.json).write_text(
        json.dumps(
            {
                "machine": describe_machine(),
                "quick": args.quick,
                "figures": [f.as_dict() for f in figures],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0 if all(f.met is not False for f in figures) else 1


def table(figures: list[Figure]) -> str:
    rows = [["#", "figure", "measured", "target", "verdict"]]
    for f in figures:
        verdict = "-" if f.met is None else ("met" if f.met else "MISSED")
        rows.append([str(f.scenario), f.name, f.shown(), f.target_text, verdict])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


if __name__ == "__main__":
    raise SystemExit(main())
