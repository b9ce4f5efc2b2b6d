"""The `watcher` command as a user runs it: a real process with this checkout's package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_watcher(
    config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`watcher ARGS --config CONFIG`, run beside the config, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args, "--config", str(config)],
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
