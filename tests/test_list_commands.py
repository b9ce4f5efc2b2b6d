"""`watcher list`, `diff`, `mutuals` and `history` over databases built by real polls of each
simulator: the members now and at past moments (across a removal and a re-follow), net
diffs, mutuals, per-day history, every format, every ACCOUNT form, and the errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.commands import ROOT, run_watcher
from tests.world import AudiusWorld, SoundCloudWorld
from watcher.cli import cli
from watcher.clock import iso
from watcher.sim.soundcloud import SoundCloudSim
from watcher.store.memberships import MEMBER_COLUMNS

World = AudiusWorld | SoundCloudWorld


def run(world: World, tmp_path: Path, *args: str) -> Result:
    config = world.write_config(tmp_path / "watcher.toml")
    return CliRunner().invoke(cli, [*args, "--config", str(config)])


def records(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, (result.output, result.exception)
    return [json.loads(line) for line in result.stdout.splitlines()]


def handles(result: Result) -> set[str]:
    return {r["handle"] for r in records(result)}


def moment(world: World) -> str:
    """Between the last poll and the next (which commits at the clock's time)."""
    return iso(world.clock.now() - timedelta(seconds=1))


def test_list_shows_the_members_as_people_in_every_format(either: World, tmp_path: Path) -> None:
    _curator, artists = either.curator(5)
    either.watch()
    either.poll()
    truth = {either.handle(a) for a in artists}

    as_json = records(run(either, tmp_path, "list", "curator", "--format", "json"))
    as_csv = run(either, tmp_path, "list", "curator", "--format", "csv")
    table = run(either, tmp_path, "list", "curator")

    assert {r["handle"] for r in as_json} == truth
    assert all(tuple(r) == MEMBER_COLUMNS for r in as_json)
    first = as_json[0]
    assert first["name"].startswith("Artist ") and first["url"].startswith("http")
    assert isinstance(first["follower_count"], int) and first["verified"] is False
    header, *rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert tuple(header) == MEMBER_COLUMNS
    assert {row[1] for row in rows} == truth and {row[4] for row in rows} == {"false"}
    assert table.stdout.splitlines()[0].split() == [
        "ID",
        "HANDLE",
        "NAME",
        "FOLLOWER",
        "COUNT",
        "VERIFIED",
        "SINCE",
        "URL",
    ]
    assert len(table.stdout.splitlines()) == 6 and table.stderr == ""


def test_list_sorts_by_followers_name_and_since(audius: AudiusWorld, tmp_path: Path) -> None:
    sim = audius.sim
    curator = sim.add_user("curator", "The Curator")
    big = sim.add_user("zed", "Zed", base_followers=900)
    small = sim.add_user("amy", "Amy", base_followers=3)
    middle = sim.add_user("max", "max", base_followers=50)
    sim.follow_many(curator, [big, small])
    audius.watch()
    audius.poll()
    sim.follow(curator, middle)
    audius.poll()

    def order(sort: str) -> list[str]:
        result = run(audius, tmp_path, "list", "curator", "--sort", sort, "--format", "json")
        return [r["handle"] for r in records(result)]

    assert order("followers") == ["zed", "max", "amy"]
    assert order("name") == ["amy", "max", "zed"]
    assert order("since")[0] == "max"  # the newest membership first


def test_list_at_a_moment_across_a_removal_and_a_refollow(either: World, tmp_path: Path) -> None:
    curator, artists = either.curator(6)
    either.watch()
    either.poll()
    before = moment(either)
    either.sim.unfollow(curator, artists[2])
    either.poll()
    either.poll()  # the absence confirmed: removed
    away = moment(either)
    either.sim.follow(curator, artists[2])
    either.poll()
    back = moment(either)
    leaver = either.handle(artists[2])

    def at(when: str) -> dict[str, dict[str, Any]]:
        rows = records(run(either, tmp_path, "list", "curator", "--at", when, "--format", "json"))
        return {r["handle"]: r for r in rows}

    assert leaver in at(before) and len(at(before)) == 6
    assert leaver not in at(away) and len(at(away)) == 5
    assert at(back)[leaver]["since"] > away  # the new membership, not the first one
    assert at(before)[leaver]["since"] <= before
    now = records(run(either, tmp_path, "list", "curator", "--format", "json"))
    assert {r["handle"]: r["since"] for r in now} == {h: r["since"] for h, r in at(back).items()}
    # A date (its midnight) and an age are moments too; both come after these polls.
    next_day = (either.clock.now() + timedelta(days=1)).date().isoformat()
    assert set(at(next_day)) == set(at("1d")) == set(at(back))


def test_diff_reports_the_net_change_between_two_moments(either: World, tmp_path: Path) -> None:
    curator, artists = either.curator(6)
    either.watch()
    either.poll()
    start = moment(either)
    newcomer = either.sim.add_user("newcomer", "New Comer")
    brief = either.sim.add_user("brief", "Brief Visit")
    either.sim.follow(curator, newcomer)
    either.sim.follow(curator, brief)
    either.sim.unfollow(curator, artists[0])
    either.poll()
    either.poll()
    middle = moment(either)
    either.sim.unfollow(curator, brief)  # came and went inside the window: neither
    either.poll()
    either.poll()

    whole = records(run(either, tmp_path, "diff", "curator", "--since", start, "--format", "json"))
    changes = {(r["change"], r["handle"]) for r in whole}
    assert changes == {("added", "newcomer"), ("removed", either.handle(artists[0]))}
    assert all(tuple(r) == ("change", *MEMBER_COLUMNS) for r in whole)

    later = run(either, tmp_path, "diff", "curator", "--since", middle, "--format", "csv")
    header, *rows = list(csv.reader(io.StringIO(later.stdout)))
    assert header[0] == "change" and [(r[0], r[2]) for r in rows] == [("removed", "brief")]

    early = run(either, tmp_path, "diff", "curator", "--since", start, "--until", middle)
    assert early.exit_code == 0
    assert sum("added" in line for line in early.stdout.splitlines()) == 2

    quiet = run(either, tmp_path, "diff", "curator", "--since", moment(either))
    assert quiet.exit_code == 0 and quiet.stdout == ""
    assert "no change in @curator's following since" in quiet.stderr


def test_mutuals_are_the_accounts_followed_that_follow_back(either: World, tmp_path: Path) -> None:
    sim = either.sim
    curator, artists = either.curator(4)
    fans = sim.add_users(2, prefix="fan")
    sim.follow(artists[1], curator)
    sim.follow(artists[3], curator)
    sim.follow(fans[0], curator)
    either.watch()
    either.watch(relation="followers")
    either.poll_all()

    mutual = handles(run(either, tmp_path, "mutuals", "curator", "--format", "json"))

    assert mutual == {either.handle(artists[1]), either.handle(artists[3])}


def test_mutuals_without_the_followers_watch_says_which_watch_to_add(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    audius.curator(3)
    audius.watch()
    audius.poll()
    config = audius.write_config(tmp_path / "watcher.toml")

    done = run_watcher(config, "mutuals", "curator")

    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert 'relation = "followers"' in done.stderr and "curator" in done.stderr


def test_history_gives_size_follows_and_unfollows_per_day(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    sim = audius.sim
    curator, artists = audius.curator(10)
    audius.watch()
    audius.poll()  # day 1: the baseline, 10
    audius.clock.advance(24 * 3600)
    sim.follow_many(curator, sim.add_users(3, prefix="new"))
    sim.unfollow(curator, artists[0])
    audius.poll()
    audius.poll()  # day 2: 3 follows, 1 unfollow, 12 at the end
    audius.clock.advance(2 * 24 * 3600)
    audius.poll()  # day 4 (day 3 had no poll)

    rows = records(run(audius, tmp_path, "history", "curator", "--format", "json"))

    assert [(r["size"], r["follows"], r["unfollows"]) for r in rows] == [
        (10, 0, 0),
        (12, 3, 1),
        (None, 0, 0),
        (12, 0, 0),
    ]
    assert [r["day"] for r in rows] == sorted(r["day"] for r in rows)
    assert tuple(rows[0]) == ("day", "size", "follows", "unfollows")


def test_a_deactivated_member_is_marked_in_the_table(audius: AudiusWorld, tmp_path: Path) -> None:
    _curator, artists = audius.curator(3)
    audius.watch()
    audius.poll()
    audius.sim.deactivate(artists[1])
    for _ in range(3):
        audius.poll()

    table = run(audius, tmp_path, "list", "curator").stdout

    marked = [line for line in table.splitlines() if "(deactivated)" in line]
    assert len(marked) == 1 and audius.handle(artists[1]) in marked[0]
    assert len(table.splitlines()) == 4


@pytest.mark.parametrize("form", ["handle", "@handle", "id", "url"])
def test_every_account_form_names_the_watch(either: World, tmp_path: Path, form: str) -> None:
    curator, _ = either.curator(2)
    either.watch()
    either.poll()
    if isinstance(either.sim, SoundCloudSim):
        account_id, host = either.sim.urn_of("curator"), "soundcloud.com"
    else:
        account_id, host = either.sim.user(curator).id, "audius.co"
    typed = {
        "handle": "Curator",
        "@handle": "@curator",
        "id": account_id,
        "url": f"https://{host}/curator",
    }[form]

    assert len(handles(run(either, tmp_path, "list", typed, "--format", "json"))) == 2


def test_an_unwatched_account_is_one_line_naming_the_watched(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    audius.curator(2)
    audius.sim.add_user("other", "Other")
    audius.watch()
    audius.watch("https://audius.co/other")
    audius.poll_all()
    config = audius.write_config(tmp_path / "watcher.toml")

    for command in (["list"], ["diff", "--since", "1d"], ["history"], ["mutuals"]):
        done = run_watcher(config, command[0], "nobody", *command[1:])
        assert done.returncode == 1, command
        assert done.stderr == "watcher: no watch covers 'nobody' (watched: curator, other)\n"


def test_a_list_never_read_or_asked_before_its_history_is_one_line(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    audius.curator(2)
    audius.watch()
    config = audius.write_config(tmp_path / "watcher.toml")

    never = run_watcher(config, "list", "curator")
    assert never.returncode == 1 and never.stderr.count("\n") == 1
    assert "has not been read completely yet" in never.stderr

    audius.poll()
    early = run_watcher(config, "list", "curator", "--at", "2020-01-01")
    assert early.returncode == 1 and early.stderr.count("\n") == 1
    assert "before watcher's history of @curator's following begins" in early.stderr
    bad = run_watcher(config, "list", "curator", "--at", "yesterday-ish")
    assert bad.returncode == 2 and "Error: Invalid value for --at" in bad.stderr


def test_a_full_disk_under_an_export_is_one_line_not_a_traceback(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    audius.curator(3)
    audius.watch()
    audius.poll()
    config = audius.write_config(tmp_path / "watcher.toml")
    command = [sys.executable, "-m", "watcher", "list", "curator", "--format", "csv"]

    with open("/dev/full", "w") as full:  # every write: ENOSPC
        done = subprocess.run(
            [*command, "--config", str(config)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
        )

    assert done.returncode == 1
    assert done.stderr == "watcher: cannot write the output: No space left on device\n"
