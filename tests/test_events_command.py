"""`watcher events` as a user reads it: a table of sentences, CSV with exactly its columns,
JSON envelopes, `--account` in every form, the empty states, and an export whose memory does
not grow with the number of events. Events come from real polls of each simulator."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.commands import run_watcher
from tests.world import AudiusWorld, SoundCloudWorld
from watcher.cli import cli
from watcher.event_export import CSV_COLUMNS, write_events
from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.store import Store

World = AudiusWorld | SoundCloudWorld


def run(world: World, tmp_path: Path, *args: str) -> Result:
    config = world.write_config(tmp_path / "watcher.toml")
    return CliRunner().invoke(cli, ["events", "--config", str(config), *args])


def four_changes(world: World) -> str:
    """The curator watched both ways; after the baselines it follows a newcomer, unfollows an
    artist, and a fan follows it: 3 events. Returns the unfollowed artist's handle."""
    curator, artists = world.curator(4)
    world.watch("curator")
    world.watch("curator", relation="followers")
    assert all(report.ok for report in world.poll_all())
    newcomer = world.sim.add_user("newcomer", "New Comer")
    fan = world.sim.add_user("fan", "The Fan")
    world.sim.follow(curator, newcomer)
    world.sim.unfollow(curator, artists[0])
    world.sim.follow(fan, curator)
    world.poll_all()
    world.poll_all()  # the absence confirmed
    return world.handle(artists[0])


def test_the_table_says_who_did_what(either: World, tmp_path: Path) -> None:
    gone = four_changes(either)

    result = run(either, tmp_path)

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["TIME", "PLATFORM", "EVENT", "ID"]
    sentences = sorted(row.split("  ", 2)[2].strip().rsplit("  ", 1)[0].strip() for row in rows)
    assert sentences == [
        "@curator followed @newcomer (New Comer)",
        f"@curator unfollowed @{gone} (Artist 0)",
        "@fan (The Fan) started following @curator",
    ]
    assert all(row.split()[1] == either.platform for row in rows)
    assert result.stderr == ""


def test_csv_has_exactly_its_columns_and_the_envelopes_values(
    either: World, tmp_path: Path
) -> None:
    four_changes(either)

    table = run(either, tmp_path, "--format", "csv")
    envelopes = [json.loads(line) for line in run(either, tmp_path, "--json").stdout.splitlines()]

    header, *records = list(csv.reader(io.StringIO(table.stdout)))
    assert (
        tuple(header)
        == CSV_COLUMNS
        == (
            "id",
            "timestamp",
            "type",
            "platform",
            "account_id",
            "account_handle",
            "target_id",
            "target_handle",
            "target_name",
            "target_follower_count",
            "target_url",
        )
    )
    assert len(records) == len(envelopes) == 3
    for record, envelope in zip(records, envelopes, strict=True):
        data = envelope["data"]
        target = data["target"]
        assert record == [
            envelope["id"],
            envelope["timestamp"],
            envelope["type"],
            either.platform,
            data["account"]["id"],
            "curator",
            target["id"],
            target["handle"],
            target["name"],
            "" if target["follower_count"] is None else str(target["follower_count"]),
            target["url"],
        ]


def test_format_json_is_the_json_lines_of_envelopes(audius: AudiusWorld, tmp_path: Path) -> None:
    four_changes(audius)

    as_format = run(audius, tmp_path, "--format", "json")
    as_flag = run(audius, tmp_path, "--json")

    assert as_format.exit_code == 0 and as_format.stdout == as_flag.stdout
    types = [json.loads(line)["type"] for line in as_flag.stdout.splitlines()]
    assert sorted(types) == ["follower.added", "following.added", "following.removed"]


def test_json_and_another_format_together_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text('database = "w.db"\n', encoding="utf-8")

    result = run_watcher(config, "events", "--json", "--format", "csv")

    assert result.returncode == 2
    assert "Error: --json is --format json; give one of them" in result.stderr.splitlines()


@pytest.mark.parametrize(
    "typed", ["curator", "@CURATOR", "https://audius.co/curator", "audius.co/curator", "{id}"]
)
def test_account_in_any_form_shows_every_relation_of_that_account(
    audius: AudiusWorld, tmp_path: Path, typed: str
) -> None:
    four_changes(audius)
    audius.sim.add_user("other_curator", "Other Curator")
    audius.watch("other_curator")  # a second account, watched, quiet
    audius.poll_all()
    store = audius.store()
    try:
        curator_id = store.watches.all()[0].account_id
    finally:
        store.close()
    assert curator_id is not None

    result = run(audius, tmp_path, "--account", typed.format(id=curator_id), "--format", "csv")

    records = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["type"] for r in records} == {
        "following.added",
        "following.removed",
        "follower.added",
    }
    assert {r["account_handle"] for r in records} == {"curator"}


def test_a_watch_whose_config_line_was_rewritten_keeps_its_account_events(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    four_changes(audius)
    audius.watches[0]["account"] = "https://audius.co/curator"  # the same account, a new watch
    audius.poll_all()

    result = run(audius, tmp_path, "--account", "https://audius.co/curator", "--type", "following")

    assert len(result.stdout.splitlines()) == 1 + 2  # the header, both following events


def test_no_events_yet_is_said_on_stderr_with_exit_0(audius: AudiusWorld, tmp_path: Path) -> None:
    audius.curator(2)
    audius.watch("curator")
    audius.poll()  # the baseline: no events

    table = run(audius, tmp_path)
    as_csv = run(audius, tmp_path, "--format", "csv")
    as_json = run(audius, tmp_path, "--json")
    filtered = run(audius, tmp_path, "--type", "follower", "--account", "curator")

    for result in (table, as_json, filtered):
        assert result.exit_code == 0 and result.stdout == ""
        assert result.stderr == "no events yet\n"
    assert as_csv.stdout_bytes == (",".join(CSV_COLUMNS) + "\r\n").encode()  # for spreadsheets
    assert as_csv.stderr == "no events yet\n"


def test_filters_that_match_nothing_say_so(audius: AudiusWorld, tmp_path: Path) -> None:
    four_changes(audius)
    later = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%d")

    results = [
        run(audius, tmp_path, "--since", later),
        run(audius, tmp_path, "--type", "follower.removed"),
        run(audius, tmp_path, "--type", "following", "--account", "curator", "--since", later),
    ]

    for result in results:
        assert result.exit_code == 0 and result.stdout == ""
        assert result.stderr == "no events match\n"


def test_events_of_a_database_never_created_are_none_yet(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text('database = "w.db"\n', encoding="utf-8")

    result = run_watcher(config, "events")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "no events yet\n")


def fill(path: Path, count: int) -> None:
    """`count` events of one watch, recorded through the store as a poll records them."""
    store = Store.open(path)
    try:
        row = store.watches.ensure("audius:curator:following", "audius", "curator", "following", "")
        account = Profile("c1", "curator", "The Curator", "https://audius.co/curator")
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        for start in range(0, count, 5_000):
            batch = [
                Event.create(
                    platform="audius",
                    relation="following",
                    added=i % 2 == 0,
                    account=account,
                    target=Profile(f"a{i}", f"artist_{i}", f"Artist {i}", "https://audius.co/x"),
                    moment=moment,
                )
                for i in range(start, min(start + 5_000, count))
            ]
            store.events.insert(row.id, batch)
        store.db.conn.commit()
    finally:
        store.close()


class Discard(io.TextIOBase):
    def __init__(self) -> None:
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


# The table's own streaming is pinned in test_output_formats; json writes the stored bodies.
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_streams_with_flat_memory(tmp_path: Path, fmt: str) -> None:
    peaks = []
    for count in (2_000, 12_000):  # both past one chunk: a chunk and the next coexist
        path = tmp_path / f"{count}.db"
        fill(path, count)
        store = Store.open(path)
        out = Discard()
        tracemalloc.start()
        try:
            assert write_events(store.events.stream(), fmt, out) == count
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
            store.close()
        assert out.lines == count + (0 if fmt == "json" else 1)
    assert peaks[1] < peaks[0] * 1.3, peaks  # six times the events, the same memory
