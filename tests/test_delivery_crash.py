"""A `watcher once` killed (SIGKILL) while a webhook is in flight loses nothing: the rerun sends
the same delivery again, with the same id, and marks it delivered exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from standardwebhooks import Webhook

from tests.receiver import Receiver, Recorded
from tests.world import SECRET, AudiusWorld, curator_following

ROOT = Path(__file__).resolve().parent.parent


def watcher(*args: str) -> list[str]:
    return [sys.executable, "-m", "watcher", *args]


def test_killed_mid_dispatch_then_rerun_delivers_with_the_same_id(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    arrived = threading.Event()
    verified: list[str] = []

    def check(request: Recorded) -> None:
        try:
            verified.append(Webhook(SECRET).verify(request.text, request.headers)["id"])
        finally:
            arrived.set()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with Receiver(check=check) as rx:
        release = rx.hold()  # the first POST gets no answer until the process is dead
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        curator, artists = curator_following(outbox)
        outbox.poll()  # the baseline
        outbox.sim.follow(curator, artists[35])
        config = outbox.write_config(tmp_path / "watcher.toml")

        first = subprocess.Popen(
            watcher("once", "--config", str(config)),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert arrived.wait(timeout=30), "the webhook never arrived"
        finally:
            first.kill()
            first.wait(timeout=10)
        release.set()
        rerun = subprocess.run(
            watcher("once", "--config", str(config)),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert first.returncode == -9
    assert rerun.returncode == 0, rerun.stderr
    assert "delivered to crm [1]: @curator followed @artist_" in rerun.stdout
    assert len(rx.requests) == 2 and rx.rejections == []
    assert verified[0] == verified[1]
    assert rx.requests[0].body == rx.requests[1].body
    [row] = outbox.deliveries()
    assert (row.state, row.attempts) == ("delivered", 1)
    store = outbox.store()
    try:
        assert [r.id for r in store.events.find()] == [verified[0]]
    finally:
        store.close()
