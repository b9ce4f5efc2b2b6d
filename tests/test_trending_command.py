"""`watcher trending`: the targets several watched accounts followed lately, read from a
database real polls built, printed by the real command in each format.

The world: three tastemakers, baselined two hours ago; then three rounds of follows on a clock
that starts two hours back, so that `--window` has something to cut.

    round 1 (-2h): taste1 follows x_artist, y_artist, v_artist; taste2 follows v_artist
    round 2 (-1h): taste2 follows x_artist, y_artist, w_artist; taste3 follows z_artist;
                   taste1 drops v_artist (recorded in round 3)
    round 3 (-30m): taste3 follows x_artist, w_artist

So with `--min 2` over a week: x_artist (3), then y_artist (2, first followed in round 1),
then w_artist (2, round 2); z_artist has one follower and v_artist lost one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.commands import run_watcher
from tests.world import AudiusWorld, World, tastemakers
from watcher.clock import FakeClock, iso
from watcher.sim.audius import AudiusSim
from watcher.trending_report import CSV_COLUMNS

BASES = {"x_artist": 1500, "y_artist": 20, "w_artist": 7, "z_artist": 3, "v_artist": 0}


def short(timestamp: str) -> str:
    return timestamp.replace("T", " ")[:16]


@pytest.fixture(scope="module")
def rounds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """The world above, built once for the module's commands (they only read it); the config
    file and each round's timestamp."""
    folder = tmp_path_factory.mktemp("trending")
    sim = AudiusSim(seed=4, replicas=1)
    with sim.serve() as base_url:
        world = World(sim, base_url, folder / "watcher.db")
        times = play_rounds(world)
        yield world.write_config(folder / "watcher.toml"), times


def play_rounds(outbox: AudiusWorld) -> list[str]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2, minutes=1)
    outbox.clock = FakeClock(start)
    a, b, c = tastemakers(outbox, 3)
    artists = {
        handle: outbox.sim.add_user(handle, handle.title(), base) for handle, base in BASES.items()
    }
    moves = [
        [(a, "x_artist"), (a, "y_artist"), (a, "v_artist"), (b, "v_artist")],
        [(b, "x_artist"), (b, "y_artist"), (b, "w_artist"), (c, "z_artist")],
        [(c, "x_artist"), (c, "w_artist")],
    ]
    times = []
    for number, (move, clock_at) in enumerate(zip(moves, (60, 3660, 5400), strict=True)):
        outbox.clock = FakeClock(start + timedelta(seconds=clock_at))
        for user, handle in move:
            outbox.sim.follow(user, artists[handle])
        if number == 1:
            outbox.sim.unfollow(a, artists["v_artist"])
        times.append(iso(outbox.clock.now()))
        outbox.poll_all()
    return times


def test_a_table_ranks_targets_by_how_many_followed_then_by_the_earliest(
    rounds: tuple[Path, list[str]],
) -> None:
    config, (first, second, third) = rounds

    result = run_watcher(config, "trending")

    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "ACCOUNTS  PLATFORM  TARGET     NAME      FOLLOWERS  FOLLOWED BY",
        f"3         audius    @x_artist  X_Artist  1503       @taste1 ({short(first)}),"
        f" @taste2 ({short(second)}), @taste3 ({short(third)})",
        f"2         audius    @y_artist  Y_Artist  22         @taste1 ({short(first)}),"
        f" @taste2 ({short(second)})",
        f"2         audius    @w_artist  W_Artist  9          @taste2 ({short(second)}),"
        f" @taste3 ({short(third)})",
    ]


def test_csv_has_a_header_and_a_row_per_target(rounds: tuple[Path, list[str]]) -> None:
    config, (first, second, third) = rounds

    result = run_watcher(config, "trending", "--format", "csv", "--min", "3")

    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert (
        rows[0]
        == list(CSV_COLUMNS)
        == [
            "platform",
            "target_id",
            "target_handle",
            "target_name",
            "target_follower_count",
            "target_verified",
            "accounts",
            "first_followed_at",
            "followed_by",
            "target_url",
        ]
    )
    [(platform, target_id, handle, name, count, verified, accounts, first_at, by, url)] = rows[1:]
    assert (platform, handle, name, count, verified, accounts, first_at) == (
        "audius",
        "x_artist",
        "X_Artist",
        "1503",
        "false",
        "3",
        first,
    )
    assert target_id and url == "https://audius.co/x_artist"
    assert by == f"taste1 {first}; taste2 {second}; taste3 {third}"


def test_json_is_one_object_per_target(rounds: tuple[Path, list[str]]) -> None:
    config, (_, second, third) = rounds

    result = run_watcher(config, "trending", "--format", "json", "--window", "90m")

    assert result.returncode == 0, result.stderr
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["target_handle"], d["accounts"]) for d in documents] == [
        ("x_artist", 2),  # taste1's follow is older than 90 minutes
        ("w_artist", 2),
    ]
    x_artist = documents[0]
    assert set(x_artist) == set(CSV_COLUMNS)
    assert x_artist["first_followed_at"] == second
    assert x_artist["target_follower_count"] == 1503 and x_artist["target_verified"] is False
    assert [(a["handle"], a["followed_at"]) for a in x_artist["followed_by"]] == [
        ("taste2", second),
        ("taste3", third),
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--min", "4"), "no target followed by 4+ watched accounts in the last 7 days"),
        (("--window", "45m"), "no target followed by 2+ watched accounts in the last 45 minutes"),
        (("--platform", "soundcloud"), "no target followed by 2+ watched accounts on soundcloud"),
    ],
)
def test_nothing_trending_is_one_line_on_stderr_and_exit_0(
    rounds: tuple[Path, list[str]], args: tuple[str, ...], line: str
) -> None:
    config, _ = rounds

    result = run_watcher(config, "trending", *args)

    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.startswith(line) and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--window", "soon"), "'soon' is not a duration"),
        (("--window", "10s"), "'10s': must be from 1m to 365d"),
        (("--platform", "myspace"), "'myspace' is not one of audius, soundcloud"),
        (("--format", "xml"), "'xml' is not one of 'table', 'csv', 'json'"),
        (("--min", "0"), "0 is not in the range 1<=x<=1000"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    rounds: tuple[Path, list[str]], args: tuple[str, ...], expected: str
) -> None:
    config, _ = rounds

    result = run_watcher(config, "trending", *args)

    assert result.returncode == 2 and result.stdout == ""
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_a_hostile_name_stays_inert_in_every_format(audius: AudiusWorld, tmp_path: Path) -> None:
    audius.clock = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))
    a, b = tastemakers(audius, 2)
    hostile = audius.sim.add_user("evil", "Evil\x1b]0;owned\x07\nName\u202e")
    audius.sim.follow(a, hostile)
    audius.sim.follow(b, hostile)
    audius.poll_all()
    config = audius.write_config(tmp_path / "watcher.toml")

    for output, lines in (("table", 2), ("csv", 2), ("json", 1)):
        result = run_watcher(config, "trending", "--format", output)
        assert result.returncode == 0, result.stderr
        assert "evil" in result.stdout
        assert not set(result.stdout) & {"\x1b", "\x07", "\u202e"}, output
        assert len(result.stdout.splitlines()) == lines  # the row stays one line


def test_once_prints_a_signal_and_events_lists_it_by_the_signals_name(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    audius.signal("scouting", min_accounts=2)
    a, b = tastemakers(audius, 2)
    (artist,) = audius.sim.add_users(1, prefix="newcomer")
    audius.sim.follow(a, artist)
    audius.sim.follow(b, artist)
    config = audius.write_config(tmp_path / "watcher.toml")

    once = run_watcher(config, "once")
    listed = run_watcher(config, "events", "--type", "signal")
    as_json = run_watcher(config, "events", "--type", "signal.trending", "--json")

    assert once.returncode == 0, once.stderr
    sentence = "scouting: @taste1 and @taste2 followed @newcomer_0 (Newcomer 0)"
    assert once.stdout.count(f"  {sentence}\n") == 1
    [_, line] = listed.stdout.splitlines()
    assert f"  audius    {sentence}  evt_" in line
    [envelope] = [json.loads(text) for text in as_json.stdout.splitlines()]
    assert envelope["type"] == "signal.trending" and envelope["data"]["signal"] == "scouting"
