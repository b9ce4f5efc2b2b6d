"""`watcher demo` as a newcomer runs it: a real process, offline, showing the whole product."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.commands import ROOT, run_watcher


def demo(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", "demo", "--interval", "0s", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_runs_exactly_the_rounds_asked_and_shows_the_whole_path(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    result = demo("--rounds", "4", "--seed", "7", "--keep", str(kept))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "round 1: first polls set the baseline" in out
    assert "round 4:" in out and "round 5:" not in out and "round 0" not in out
    # Harsh modes on: the tie groups the pages broke are repaired, and it says so.
    assert "harsh modes on: tie_shuffle=True, short_pages=" in out
    assert "repair: many artists here have the same follower count" in out
    # Each event reaches the chat (as Discord shows it) and the webhook, signature verified.
    assert "chat | SoundCloud: @night-shift-dj followed 1" in out
    assert "    EVENT @night-shift-dj followed @producer-66 (Producer 66)" in out
    assert (
        "chat | • @night-shift-dj followed @producer-66 <https://soundcloud.com/producer-66>"
        " (Producer 66)"
    ) in out
    assert re.search(
        r"webhook verified: @night-shift-dj followed @producer-66 \(Producer 66\) \[evt_", out
    )
    assert "REJECTED" not in out and "delivery" not in out
    config = kept / "watcher.toml"
    assert f"  watcher events --config {config}" in out
    assert f"  watcher status --config {config}" in out

    events = run_watcher(config, "events")
    assert events.returncode == 0, events.stderr
    done = re.search(r"done: (\d+) event\(s\) recorded", out)
    assert done is not None and int(done.group(1)) > 0
    header, *rows = events.stdout.strip().splitlines()
    assert header.split() == ["TIME", "PLATFORM", "EVENT", "ID"]
    assert len(rows) == int(done.group(1))
    status = run_watcher(config, "status")
    assert status.returncode == 0, status.stderr
    assert "tastemaker" in status.stdout and "crm" in status.stdout
    assert f"  watcher list tastemaker --config {config}" in out
    listed = run_watcher(config, "list", "tastemaker")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) > 100  # the header, then the curator's follows


def test_every_event_the_demo_shows_is_a_change_it_made(tmp_path: Path) -> None:
    result = demo("--rounds", "14", "--seed", "11")
    assert result.returncode == 0, result.stderr
    made: list[str] = []
    shown = 0
    for line in result.stdout.splitlines():
        change = re.fullmatch(
            r"(?:round \d+: |  and )(?:audius|soundcloud) (\S+) (\w+) (\S+)", line
        )
        if change:
            made.append(" ".join(change.groups()))
        # `@a followed @b (B)`, or a follower's side: `@b (B) started following @a`.
        following = re.fullmatch(r"    EVENT @(\S+) (followed|unfollowed) @(\S+)(?: \(.*\))?", line)
        follower = re.fullmatch(
            r"    EVENT @(\S+)(?: \(.*\))? (started|stopped) following @(\S+)", line
        )
        if following is not None:
            account, verb, target = following.groups()
            expected = f"{account} {verb} {target}"
        elif follower is not None:
            target, verb, account = follower.groups()
            expected = f"{target} {'followed' if verb == 'started' else 'unfollowed'} {account}"
        else:
            continue
        shown += 1
        assert expected in made, f"{line!r} matches no change the demo made"
        made.remove(expected)  # and never twice
    assert shown >= 5


def test_demo_help_says_it_runs_until_ctrl_c() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "demo", "--help"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "until Ctrl-C" in " ".join(result.stdout.split())


def test_demo_without_rounds_runs_until_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "demo", "--interval", "0.05s", "--keep", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("round 3:"):
            break
    process.send_signal(signal.SIGINT)
    rest, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "demo stopped" in rest and "watcher status --config" in rest
    assert "Traceback" not in stderr


def test_demo_refuses_to_keep_into_an_earlier_demos_folder(tmp_path: Path) -> None:
    (tmp_path / "watcher.db").write_bytes(b"")
    result = demo("--rounds", "1", "--keep", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"watcher: demo: {tmp_path} already holds a watcher.db from an earlier demo;"
        " name a new or empty directory with --keep"
    ]
