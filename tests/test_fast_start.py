"""Commands import what they use: reading commands start without the polling machinery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.cli import EVENT_TYPES
from watcher.config import EVENT_TYPES as CONFIG_EVENT_TYPES
from watcher.config_fields import SIGNAL_TYPES

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("aiohttp", "apprise", "apscheduler")
PROBE = """
import json, sys
sys.argv = ["watcher", *json.loads(sys.argv[1])]
from watcher.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def loaded_by(*args: str, cwd: Path) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "command",
    [
        ("--version",),
        ("events",),
        ("status",),
        ("deliveries",),
        ("events", "--json"),
        ("plan",),
        ("trending",),
    ],
)
def test_reading_commands_import_neither_aiohttp_nor_apprise_nor_apscheduler(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    (tmp_path / "watcher.toml").write_text(
        'database = "w.db"\n[[watch]]\nplatform = "audius"\naccount = "curator"\n',
        encoding="utf-8",
    )
    loaded = loaded_by(*command, cwd=tmp_path)
    assert "watcher" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_cli_knows_the_same_event_types_as_the_config() -> None:
    assert (*CONFIG_EVENT_TYPES, *SIGNAL_TYPES) == EVENT_TYPES
