"""Hostile or odd config files: always one line naming the file and the key, and exit 2.

A representative few run the real command; the loader itself answers for the rest. A SIGHUP
reload of such a file changes nothing and is counted as rejected.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.world import AudiusWorld
from watcher import metrics
from watcher.config import load
from watcher.daemon_lock import DaemonLock
from watcher.errors import ConfigError
from watcher.http.retry import RetryPolicy
from watcher.platforms.audius_kind import AudiusSettings
from watcher.runtime import Runtime
from watcher.scheduler import Daemon
from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent
WATCH = '[[watch]]\nplatform = "audius"\naccount = "deadmau5"\n'


def run_watcher(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused(path: Path) -> str:
    """The loader's one-line refusal of `path`."""
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"{path}: "), message
    return message


def write(tmp_path: Path, content: str | bytes, name: str = "watcher.toml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# What the real command must say (after "watcher: config error: <file>: "), for a few files.
COMMAND_CASES = [
    (
        "once",
        "a = 1\n".encode("utf-16"),
        "not UTF-8 (byte 0xff at offset 0); save the file as UTF-8",
    ),
    ("status", "a = 1\n# café\n".encode("latin-1"), "not UTF-8 (byte 0xe9 at offset 11)"),
    ("once", ("a = " + "[" * 5000 + "]" * 5000).encode(), "line 1: arrays or inline tables nested"),
    ("once", (".".join(["a"] * 20_000) + " = 1\n").encode(), "line 1: a dotted key of more than"),
    ("once", (WATCH + "interval = inf\n").encode(), "watch 'deadmau5': interval: must be from"),
    ("status", b"[audius]\nrequests_per_second = 1e-300\n" + WATCH.encode(), "0.01 to 10000"),
    ("once", b'database = "/dev/null"\n' + WATCH.encode(), "database: /dev/null is not a regular"),
    ("once", WATCH.replace("[[watch]]", "[watch]").encode(), "watch: use [[watch]]"),
]


@pytest.mark.parametrize(("command", "content", "fragment"), COMMAND_CASES)
def test_the_command_refuses_a_bad_config_in_one_line_with_exit_2(
    tmp_path: Path, command: str, content: bytes, fragment: str
) -> None:
    config = write(tmp_path, content)
    result = run_watcher(command, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"watcher: config error: {config}: ")
    assert fragment in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("kind", ["directory", "missing"])
def test_a_config_path_that_is_no_file_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    config = tmp_path / "watcher.toml"
    if kind == "directory":
        config.mkdir()
    result = run_watcher("status", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    expected = "is a directory, not a config file" if kind == "directory" else "no such file"
    assert line == f"watcher: config error: {config}: {expected}"


def test_a_config_under_a_file_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, WATCH) / "watcher.toml"
    assert refused(path) == f"{path}: cannot read: Not a directory"


def test_a_config_of_endless_bytes_is_refused_without_reading_them_all() -> None:
    assert refused(Path("/dev/zero")).endswith("larger than 1 MiB: not a config file")


def test_a_utf8_file_with_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    config = load(write(tmp_path, b"\xef\xbb\xbf" + WATCH.encode()))
    assert config.watch[0].account == "deadmau5"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a = 1\n".encode("utf-16-be"), "byte 0x00 at offset 0"),  # no mark: NULs give it away
        ("a = 1\n".encode("utf-16-le"), "byte 0x00 at offset 1"),
        (b"\xef\xbb\xbf# caf\xe9\n", "byte 0xe9 at offset 8"),  # offsets count the mark
    ],
)
def test_text_that_is_not_utf8_names_the_byte_and_its_offset(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    message = refused(write(tmp_path, content))
    assert f"not UTF-8 ({expected}); save the file as UTF-8" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = " + "{b = " * 40 + "1" + "}" * 40, "line 1: arrays or inline tables nested more"),
        ("x = 1\n\na = [\n" + "[" * 40 + "]" * 40 + "]\n", "line 4: arrays or inline tables"),
        ("[" + ".".join(["t"] * 100) + "]\n", "line 1: a dotted key of more than 32 parts"),
        (
            "a = " + ("{" + ".".join(["b"] * 31) + " = ") * 32 + "1" + "}" * 32,
            "a.b.b...: tables and arrays nested more than 64 deep",
        ),
    ],
)
def test_deep_nesting_is_refused_before_parsing(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(write(tmp_path, text))


def test_brackets_and_dots_inside_strings_and_comments_are_not_nesting(tmp_path: Path) -> None:
    deep = "[" * 100 + "." * 100
    text = (
        f'# {deep}\n[audius]\napp_name = "{deep}"\napi_key = """\n{deep}\n"""\n'
        f"base_url = 'https://h/{deep}'\n{WATCH}interval = 1.5\n"
    )
    config = load(write(tmp_path, text))
    assert (
        config.section("audius", AudiusSettings).app_name == deep
        and config.watch[0].interval == 1.5
    )


def test_numbers_of_thousands_of_digits_are_a_config_error(tmp_path: Path) -> None:
    text = "[defaults]\nalert_after = " + "9" * 5000 + "\n"
    assert refused(write(tmp_path, text)).endswith("not valid TOML: a number far too long")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("interval", "inf", "defaults.interval: must be from 100ms to 30d (got inf)"),
        ("interval", "nan", "defaults.interval: must be from 100ms to 30d (got nan)"),
        ("interval", "1e308", "defaults.interval: must be from 100ms to 30d (got 1e+308)"),
        ("interval", '"99999999999d"', "must be from 100ms to 30d (got '99999999999d')"),
        ("interval", '"31d"', "defaults.interval: must be from 100ms to 30d (got '31d')"),
        ("interval", "0", "defaults.interval: must be from 100ms to 30d (got 0)"),
        ("jitter", "inf", "defaults.jitter: must be from 0s to 1d (got inf)"),
        ("jitter", '"99999999999d"', "defaults.jitter: must be from 0s to 1d"),
        ("timeout", "-inf", "defaults.timeout: must be from 10ms to 1h (got -inf)"),
        ("timeout", "1e308", "defaults.timeout: must be from 10ms to 1h (got 1e+308)"),
        ("confirm_after", "nan", "defaults.confirm_after: must be from 0s to 1d (got nan)"),
        ("confirm_after", "1e308", "defaults.confirm_after: must be from 0s to 1d"),
        ("max_passes", "inf", "defaults.max_passes: must be a finite number from 1 to 20"),
        ("max_passes", "2.5", "defaults.max_passes: must be a whole number from 1 to 20"),
        ("alert_after", str(10**30), "defaults.alert_after: must be from 0 to 1000"),
        ("interval", '"9' + "9" * 400 + 's"', "defaults.interval: '999"),
    ],
)
def test_durations_and_counts_name_the_key_and_the_allowed_range(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    message = refused(write(tmp_path, f"[defaults]\n{key} = {value}\n{WATCH}"))
    assert expected in message
    assert len(message) < 300  # a 400-digit value is shown cut short


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e-300", "audius.requests_per_second: must be from 0.01 to 10000 (got 1e-300)"),
        ("inf", "audius.requests_per_second: must be a finite number from 0.01 to 10000"),
        ("nan", "audius.requests_per_second: must be a finite number from 0.01 to 10000"),
        ("0", "audius.requests_per_second: must be from 0.01 to 10000 (got 0)"),
        ('"fast"', "audius.requests_per_second: must be a number from 0.01 to 10000"),
    ],
)
def test_request_rates_have_a_floor_and_a_ceiling(
    tmp_path: Path, value: str, expected: str
) -> None:
    assert expected in refused(write(tmp_path, f"[audius]\nrequests_per_second = {value}\n"))


def test_limits_at_their_edges_are_accepted(tmp_path: Path) -> None:
    text = (
        '[defaults]\ninterval = "30d"\njitter = "1d"\ntimeout = "1h"\nconfirm_after = "1d"\n'
        "[audius]\nrequests_per_second = 0.01\n" + WATCH + 'interval = "100ms"\n'
    )
    config = load(write(tmp_path, text))
    assert config.defaults.interval == 30 * 86_400 and config.watch[0].interval == 0.1
    assert config.platform_settings("audius").requests_per_second == 0.01


def test_a_watch_level_and_a_webhook_duration_are_bounded_too(tmp_path: Path) -> None:
    watch = refused(write(tmp_path, WATCH + "jitter = inf\n"))
    assert watch.endswith("watch 'deadmau5': jitter: must be from 0s to 1d (got inf)")
    hook = (
        '[notifiers.crm]\ntype = "webhook"\nurl = "https://h/x"\n'
        'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\ntimeout = nan\n'
    )
    assert "notifiers.crm.timeout: must be from 10ms to 1h (got nan)" in refused(
        write(tmp_path, hook)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WATCH.replace("[[watch]]", "[watch]"), "watch: use [[watch]] (an array of tables)"),
        ('[[notifiers]]\ntype = "apprise"\n', "notifiers: use one [notifiers.NAME] table"),
        ('[[defaults]]\ninterval = "1m"\n', "defaults: use [defaults] (a table), not [[defaults]]"),
        ("watch = 3\n", "watch: must be an array (got 3)"),
        ("[notifiers.x]\ntype = 'pigeon'\n", "notifiers.x.type: must be 'apprise' or 'webhook'"),
        ("[notifiers.x]\nurls = []\n", "notifiers.x.type: required key is missing"),
        ("[log]\nlevel = 3\n", "log.level: must be 'debug', 'info', 'warning' or 'error' (got 3)"),
        ("[audius]\npage_size = '10'\n", "audius.page_size: must be an integer from 1 to 100"),
        ("[http]\nlisten = 8787\n", "http.listen: must be a string (got 8787)"),
        (WATCH + "notify = 'crm'\n", "watch 'deadmau5': notify: must be an array (got 'crm')"),
    ],
)
def test_table_shapes_and_types_are_said_in_toml_words(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = refused(write(tmp_path, text))
    assert expected in message
    assert "Input should" not in message and "valid dictionary" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WATCH + 'interval = "soon"\n', "watch 'deadmau5': interval: 'soon' is not a duration"),
        (WATCH + 'relation = "friends"\n', "watch 'deadmau5': relation: must be 'following' or"),
        (WATCH + WATCH + 'relation = "followers"\ncolour = 1\n', "watch 'deadmau5' (followers)"),
        (WATCH + WATCH, "watch 'deadmau5' (#2): the same watch is listed twice"),
        ('[[watch]]\nplatform = "audius"\ninterval = 1\n', "watch #1: account: required key"),
        (WATCH + 'notify = ["nope"]\n', "watch 'deadmau5': notify: no [notifiers.nope]"),
        (WATCH.replace("audius", "myspace", 1), "watch 'deadmau5': platform: unknown platform"),
        (WATCH + 'notify = ["${NOT_SET_ANYWHERE}"]\n', "watch 'deadmau5': notify[0]: environment"),
    ],
)
def test_errors_inside_a_watch_name_its_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    message = refused(write(tmp_path, text))
    assert expected in message
    assert "watch[" not in message


def test_a_database_that_is_a_directory_or_a_device_is_refused(tmp_path: Path) -> None:
    data = tmp_path.resolve() / "data"
    data.mkdir()
    message = refused(write(tmp_path, 'database = "data"\n' + WATCH))
    assert message.endswith(
        f"database: {data} is a directory; name a file in it (such as {data / 'watcher.db'})"
    )
    message = refused(write(tmp_path, 'database = "/dev/null"\n' + WATCH))
    assert message.endswith("database: /dev/null is not a regular file; name a database file")


def test_a_database_folder_that_does_not_exist_is_refused_and_not_created(
    tmp_path: Path,
) -> None:
    config = write(tmp_path, 'database = "state/watcher.db"\n' + WATCH)
    missing = tmp_path.resolve() / "state"
    expected = f"database: the directory {missing} does not exist; create it first"
    assert refused(config).endswith(expected)
    result = run_watcher("once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"watcher: config error: {config}: {expected}\n"
    assert not missing.exists()


def test_opening_a_store_or_its_daemon_lock_creates_no_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"the directory .*absent does not exist"):
        Store.open(tmp_path / "absent" / "w.db")
    with pytest.raises(ConfigError, match="cannot open the lock file"):
        DaemonLock.acquire(tmp_path / "absent" / "w.db")
    assert not (tmp_path / "absent").exists()


def test_a_reload_of_an_invalid_config_changes_nothing_and_is_counted_as_rejected(
    audius: AudiusWorld, caplog: pytest.LogCaptureFixture
) -> None:
    sim = audius.sim
    for handle in ("curator", "scout"):
        sim.follow_many(sim.add_user(handle=handle), sim.add_users(3, prefix=f"{handle}-a"))
    path = audius.db_path.parent / "watcher.toml"
    top = (
        f'database = "{audius.db_path}"\n[audius]\nbase_url = "{audius.base_url}"\n'
        "requests_per_second = 10000\n"
    )
    curator = '[[watch]]\nplatform = "audius"\naccount = "curator"\ninterval = "1h"\n'
    path.write_text(top + curator, encoding="utf-8")
    before = load(path)
    counts = metrics.reset()

    def reloads(outcome: str) -> float | None:
        return counts.registry.get_sample_value(
            "watcher_config_reloads_total", {"outcome": outcome}
        )

    async def go() -> tuple[str | None, str | None, str | None, Daemon]:
        store = Store.open(before.database_path)
        engine = Runtime(before, store, retry=RetryPolicy.immediate(2))
        daemon = Daemon(engine, load_config=lambda: load(path))
        task = asyncio.create_task(daemon.run(install_signals=False))
        try:
            for _ in range(1000):  # up to 10 s for the daemon to plan its first poll
                if store.watches.planned_next_poll("audius:curator:following") is not None:
                    break
                await asyncio.sleep(0.01)
            planned = store.watches.planned_next_poll("audius:curator:following")
            # Adds a watch and retimes the other, but one value is out of range: none of it.
            scout = curator.replace("curator", "scout")
            path.write_text(
                top + curator.replace('"1h"', '"2h"') + scout + "jitter = inf\n", encoding="utf-8"
            )
            daemon.reload()
            after = store.watches.planned_next_poll("audius:curator:following")
            added = store.watches.planned_next_poll("audius:scout:following")
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)
            await engine.aclose()
            store.close()
        return planned, after, added, daemon

    with caplog.at_level(logging.INFO, logger="watcher"):
        planned, after, added, daemon = asyncio.run(go())
    assert planned is not None and after == planned and added is None
    assert daemon.config is before
    assert reloads("rejected") == 1 and reloads("ok") is None
    (line,) = [r.getMessage() for r in caplog.records if "reload" in r.getMessage()]
    assert line.startswith("config reload rejected, keeping the running config: ")
    assert f"{path}: watch 'scout': jitter: must be from 0s to 1d (got inf)" in line
