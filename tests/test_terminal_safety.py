"""Strangers' text (handles, names, error bodies) cannot forge lines or drive a terminal."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commands import run_watcher
from watcher import logs
from watcher.printable import json_line, printable
from watcher.sim.audius import AudiusSim

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_NAME = "Nice Name\nFAILED audius forged line\x1b]0;pwned\x07\x1b[2J\u202eevil\x9b31m"
HOSTILE_HANDLE = "dj\x1b[2Jclear\x07"
UNSAFE = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


@pytest.fixture(autouse=True)
def own_handler() -> Iterator[None]:
    yield
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "watcher"]


def assert_inert(text: str) -> None:
    for char in UNSAFE:
        assert char not in text, repr(char)


def test_printable_writes_controls_as_visible_escapes() -> None:
    assert printable("a\nb\tc\x1b[2J\u202e") == "a\\nb\\tc\\x1b[2J\\u202e"
    assert printable("Ünïcødé ok 🎧") == "Ünïcødé ok 🎧"
    dumped = json_line(json.dumps({"name": "x\x9by\u2028"}, ensure_ascii=False))
    assert json.loads(dumped) == {"name": "x\x9by\u2028"}
    assert_inert(dumped)
    assert "\u2028" not in dumped


def test_hostile_names_and_error_bodies_stay_one_inert_line_in_once(tmp_path: Path) -> None:
    sim = AudiusSim(seed=5)
    curator = sim.add_user("curator")
    with sim.serve() as base_url:
        config = tmp_path / "watcher.toml"
        config.write_text(
            f'database = "w.db"\n[defaults]\nconfirm_after = "0s"\n'
            f'[audius]\nbase_url = "{base_url}"\n'
            '[[watch]]\nplatform = "audius"\naccount = "curator"\n'
            '[[watch]]\nplatform = "audius"\naccount = "curator"\nrelation = "followers"\n',
            encoding="utf-8",
        )
        assert run_watcher(config, "once").returncode == 0  # the baselines
        sim.follow(curator, sim.add_user(HOSTILE_HANDLE, name=HOSTILE_NAME))
        hostile_error = json.dumps({"error": "nope\n\x1b[2JFAILED forged\x1b]0;t\x07"})
        sim.faults.add("/followers", status=400, body=hostile_error, times=None)
        once = run_watcher(config, "once")
        events = run_watcher(config, "events")
        status = run_watcher(config, "status")
    assert once.returncode == 1
    out_lines, err_lines = once.stdout.splitlines(), once.stderr.splitlines()
    assert out_lines[0].startswith("ok audius curator following")
    assert out_lines[1].startswith("  @curator followed @dj\\x1b[2Jclear\\x07 (Nice Name\\nFAILED")
    assert len(out_lines) == 2
    assert len(err_lines) == 1 and err_lines[0].startswith("FAILED audius curator followers")
    assert "FAILED forged" in err_lines[0]  # shown, on the same line, inert
    for result in (once, events, status):
        assert_inert(result.stdout + result.stderr)
    assert len(events.stdout.splitlines()) == 2  # the table's header, then the one event


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_records_stay_one_line_whatever_they_quote(fmt: logs.LogFormat) -> None:
    stream = io.StringIO()
    logs.setup(fmt, "info", stream)
    logging.getLogger("watcher.test").info(
        "followed %s", HOSTILE_NAME, extra={"target": HOSTILE_HANDLE}
    )
    output = stream.getvalue()
    assert_inert(output)
    lines = output.splitlines()
    assert len(lines) == 1
    if fmt == "json":
        entry = json.loads(lines[0])
        assert entry["message"] == f"followed {HOSTILE_NAME}"  # the value itself is intact
        assert entry["target"] == HOSTILE_HANDLE
    else:
        assert "followed Nice Name\\nFAILED audius forged line\\x1b]0;pwned" in lines[0]
