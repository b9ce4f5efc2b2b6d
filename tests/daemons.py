"""Real `watcher run` processes for the tests that need them: started with the test's config,
their stderr read as it comes, stopped by SIGTERM or killed at the end of the test."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import store_reads
from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 20.0  # generous for a loaded CI machine; conditions usually hold within a second


class Running:
    """A `watcher run` (or `command`) process whose stderr is read as it comes (so it never
    blocks)."""

    def __init__(self, config: Path, *extra: str, command: str = "run") -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "watcher", command, "--config", str(config), *extra],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def seen() -> bool:
            found.extend(m for line in list(self.lines) if (m := re.search(pattern, line)))
            return bool(found)

        wait_until(seen, f"no stderr line matching {pattern!r}:\n{self.stderr}")
        return found[0]

    def base_url(self) -> str:
        line = r"serving the dashboard, /healthz and /metrics on (http://[\w.:\[\]]+)"
        return self.wait_for_line(line).group(1)

    def stop(self) -> float:
        """SIGTERM; seconds until the process exited (fails the test beyond 10 s)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until(condition: Callable[[], Any], message: str, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(message)


def polls_of(database: Path, account: str) -> int:
    if not database.exists():
        return 0
    store = Store.open(database)
    try:
        row = next((w for w in store.watches.all() if w.account == account), None)
        return 0 if row is None else len(store_reads.polls(store, row.id, limit=1000))
    finally:
        store.close()


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(found.get(key) == wanted for key, wanted in labels.items()):
            return float(value)
    return None
