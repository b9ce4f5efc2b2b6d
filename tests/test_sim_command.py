"""`watcher sim` as a user runs it: a real process serving both simulated APIs on fixed
loopback ports, whose printed config lines a real `watcher once` polls successfully."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.commands import ROOT, run_watcher

WAIT = 30.0  # the longest any expected line may take to appear


def free_port_pair() -> int:
    """A port p with p and p + 1 both free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port >= 65534:
            continue
        with socket.socket() as first, socket.socket() as second:
            try:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports")


@dataclass
class SimProcess:
    """A running `watcher sim`, its stdout read line by line into a queue."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def start_reading(self) -> None:
        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.put(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()

    def until(self, wanted: str) -> list[str]:
        """Lines up to and including the first (not yet read) one containing `wanted`."""
        got: list[str] = []
        deadline = time.monotonic() + WAIT
        while True:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            got.append(line)
            self.seen.append(line)
            if wanted in line:
                return got


def start_sim(*args: str) -> SimProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "sim", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sim = SimProcess(process)
    sim.start_reading()
    return sim


@pytest.fixture
def running_sim() -> Iterator[tuple[SimProcess, int]]:
    port = free_port_pair()
    sim = start_sim("--port", str(port), "--churn-every", "0.2s", "--seed", "3")
    try:
        yield sim, port
    finally:
        if sim.process.poll() is None:
            sim.process.kill()
        sim.process.wait(timeout=10)


def pasted_config(sim: SimProcess, folder: Path) -> Path:
    """What a user does: paste the printed lines into watcher.toml."""
    printed = sim.until("# end of config")
    start = next(i for i, line in enumerate(printed) if line.startswith("# paste into"))
    path = folder / "watcher.toml"
    path.write_text("\n".join(printed[start + 1 : -1]) + "\n", encoding="utf-8")
    return path


def test_sim_serves_both_platforms_to_a_pasted_config_and_churns_until_sigterm(
    running_sim: tuple[SimProcess, int], tmp_path: Path
) -> None:
    sim, port = running_sim
    config = pasted_config(sim, tmp_path)
    text = config.read_text()
    assert f"http://127.0.0.1:{port}/v1" in text and f"http://127.0.0.1:{port + 1}" in text

    first = run_watcher(config, "once")
    assert first.returncode == 0, first.stderr
    for who in ("audius tastemaker following", "audius rising-star followers"):
        assert f"ok {who}:" in first.stdout and "(baseline)" in first.stdout
    assert "ok soundcloud night-shift-dj following:" in first.stdout

    # Churn goes on live: wait for a follow, made after the baselines, that a watch sees.
    watched = ("audius tastemaker followed", "followed rising-star", "night-shift-dj followed")
    after = len(sim.seen)
    while not any(w in line for line in sim.seen[after:] for w in watched):
        sim.until("sim: ")
    second = run_watcher(config, "once")
    assert second.returncode == 0, second.stderr
    assert " followed @" in second.stdout or "started following" in second.stdout, second.stdout

    sim.process.send_signal(signal.SIGTERM)
    assert sim.process.wait(timeout=10) == 0
    last = sim.until("stopped")[-1]
    assert last == "sim: stopped by SIGTERM"
    assert sim.process.stderr is not None and sim.process.stderr.read() == ""


def test_sim_on_a_busy_port_exits_1_with_one_line() -> None:
    port = free_port_pair()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port + 1))  # the SoundCloud one: Audius is let go again
        taken.listen()
        sim = start_sim("--port", str(port))
        _, stderr = sim.process.communicate(timeout=30)
    assert sim.process.returncode == 1
    lines = stderr.strip().splitlines()
    assert lines == [
        f"watcher: sim cannot listen on 127.0.0.1:{port + 1}: address already in use"
        " (another `watcher sim`? try another --port)"
    ]
