"""`[[signal]]` tables and target filters in the config: what is accepted, and every mistake
as one line naming the signal (or notifier) and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.commands import run_watcher
from tests.world import SECRET
from watcher.config import load, parse
from watcher.config_fields import SIGNAL_TYPES
from watcher.errors import ConfigError
from watcher.platforms.base import Profile
from watcher.signals import registry as signal_registry
from watcher.signals.trending_kind import TrendingSettings
from watcher.target_filter import parse_ref

WATCHES = [
    {"platform": "audius", "account": "taste1"},
    {"platform": "audius", "account": "https://audius.co/taste2"},
    {"platform": "audius", "account": "fan", "relation": "followers"},
]
ROOT = Path(__file__).resolve().parent.parent
HOOK = {"type": "webhook", "url": "https://h/x", "secret": SECRET}


def config(**tables: Any) -> dict[str, Any]:
    return {"watch": WATCHES, "notifiers": {"hook": HOOK}, **tables}


def refused(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    message = str(caught.value)
    assert "\n" not in message
    return message.removeprefix("<config>: ")


def trending(**keys: Any) -> dict[str, Any]:
    return {"signal": [{"name": "scouting", "type": "trending", **keys}]}


def hook(**keys: Any) -> dict[str, Any]:
    return {"notifiers": {"hook": {**HOOK, **keys}}}


def test_a_signal_as_the_issue_writes_it_is_accepted_with_its_defaults() -> None:
    loaded = parse(config(**trending(notify=["hook"], max_target_followers=10_000)))
    [signal] = loaded.signal
    assert isinstance(signal, TrendingSettings)
    assert (signal.name, signal.watches, signal.min_accounts, signal.window) == (
        "scouting",
        "following",
        2,
        7 * 86_400,
    )
    assert signal.target_filter is not None and signal.target_filter.max_followers == 10_000
    assert loaded.notifiers["hook"].target_filter is None  # no filter keys: every target


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        (trending(min_accounts=0), "signal 'scouting': min_accounts: must be from 1 to 1000"),
        (trending(window="10s"), "signal 'scouting': window: must be from 1m to 365d (got '10s')"),
        (trending(window="soon"), "signal 'scouting': window: 'soon' is not a duration"),
        (trending(type="nope"), "signal 'scouting': type: must be 'trending' (got 'nope')"),
        ({"signal": [{"name": "s"}]}, "signal 's': type: required key is missing ('trending')"),
        ({"signal": [{"type": "trending"}]}, "signal #1: name: required key is missing"),
        (trending(name=" "), "signal #1: name: must not be empty"),
        (trending(name="a\x1bb"), "signal 'a\\x1bb': name: must be at most 60 characters"),
        (
            {"signal": [trending()["signal"][0]] * 2},
            "signal 'scouting': name: another [[signal]] has this name",
        ),
        (trending(notify=["x"]), "signal 'scouting': notify: no [notifiers.x] is defined"),
        (trending(watches="all"), 'watches: must be "following" or a list of watched accounts'),
        (trending(watches=[]), "signal 'scouting': watches: must not be empty"),
        (
            trending(watches=["nobody"]),
            "signal 'scouting': watches[0]: no following watch of 'nobody' (following watches:"
            " 'taste1', 'https://audius.co/taste2')",
        ),
        (trending(watches=["fan"]), "watches[0]: 'fan' is watched for followers only"),
        (
            trending(watches=["taste1"]),
            "signal 'scouting': min_accounts: 2, but the signal counts only 1 watched account:"
            " it could never fire",
        ),
        (trending(min_accounts=3), "min_accounts: 3, but the signal counts only 2 watched"),
        (trending(colour=1), "signal 'scouting': colour: unknown key"),
        ({"signal": {"name": "s"}}, "signal: use [[signal]] (an array of tables)"),
        (
            {**hook(events=["following.added"]), **trending(notify=["hook"])},
            "signal 'scouting': notify: [notifiers.hook] takes only the events its `events`"
            " lists, which leaves out signal.trending",
        ),
    ],
)
def test_signal_mistakes_are_one_line_naming_the_signal_and_the_key(
    tables: dict[str, Any], expected: str
) -> None:
    assert expected in refused(config(**tables))


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            {"min_target_followers": 500, "max_target_followers": 100},
            "notifiers.hook: min_target_followers (500) is above max_target_followers (100):"
            " no target could pass",
        ),
        ({"min_target_followers": 1.5}, "min_target_followers: must be a whole number from 0"),
        ({"max_target_followers": -1}, "max_target_followers: must be from 0 to 1000000000000"),
        ({"max_target_followers": "many"}, "max_target_followers: must be an integer from 0"),
        ({"verified_only": "yes"}, "notifiers.hook.verified_only: must be true or false"),
        (
            {"include_targets": ["ftp://x/y"]},
            "notifiers.hook.include_targets: [0] 'ftp://x/y' is not a handle, an id or a profile"
            " URL (https://audius.co/NAME, https://soundcloud.com/NAME)",
        ),
        ({"include_targets": ["ok", "https://example.com/x"]}, "include_targets: [1] 'https:"),
        (
            {"exclude_targets": ["https://audius.co/a/tracks"]},
            "[0] 'https://audius.co/a/tracks' is",
        ),
        (
            {"include_targets": ["https://on.soundcloud.com/AbCd123"]},
            "[0] 'https://on.soundcloud.com/AbCd123' is a share link, which only its platform"
            " can read; write the profile URL it opens",
        ),
        ({"include_targets": ["a\nb"]}, "[0] 'a\\nb' is not a handle, an id or a profile URL"),
        ({"include_targets": [""]}, "include_targets: [0] must not be empty"),
        ({"include_targets": [3]}, "include_targets: [0] must be a string"),
        ({"include_targets": "deadmau5"}, "include_targets: must be an array (got 'deadmau5')"),
        (
            {"include_targets": ["deadmau5"], "exclude_targets": ["https://audius.co/DeadMau5"]},
            "'https://audius.co/DeadMau5' is in both include_targets and exclude_targets",
        ),
    ],
)
def test_filter_mistakes_are_one_line_naming_the_notifier_and_the_key(
    keys: dict[str, Any], expected: str
) -> None:
    assert expected in refused(config(**hook(**keys)))


def test_a_signals_filter_is_checked_like_a_notifiers() -> None:
    assert "signal 'scouting': max_target_followers: must be from 0" in refused(
        config(**trending(max_target_followers=-5))
    )


def test_the_command_refuses_a_bad_signal_in_one_line_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(
        '[[watch]]\nplatform = "audius"\naccount = "taste1"\n'
        '[[signal]]\nname = "scouting"\ntype = "trending"\nmin_accounts = 2\n',
        encoding="utf-8",
    )
    result = run_watcher(path, "trending")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"watcher: config error: {path}: signal 'scouting': min_accounts: 2, but the signal"
        " counts only 1 watched account: it could never fire"
    ]


AUDIUS_ARTIST = Profile("LKdlD", "DeadMau5", "deadmau5", "https://audius.co/DeadMau5", 83505)
SOUNDCLOUD_ARTIST = Profile(
    "soundcloud:users:123", "some-artist", "Some Artist", "https://soundcloud.com/some-artist"
)


@pytest.mark.parametrize(
    ("written", "platform", "profile", "matches"),
    [
        ("deadmau5", "audius", AUDIUS_ARTIST, True),  # a handle, in any case
        ("@DEADMAU5", "audius", AUDIUS_ARTIST, True),
        ("LKdlD", "audius", AUDIUS_ARTIST, True),  # an id
        ("lkdld", "audius", AUDIUS_ARTIST, False),  # ids keep their case
        ("https://audius.co/deadmau5", "audius", AUDIUS_ARTIST, True),
        ("audius.co/deadmau5", "audius", AUDIUS_ARTIST, True),
        ("https://soundcloud.com/deadmau5", "audius", AUDIUS_ARTIST, False),  # another platform
        ("some-artist", "soundcloud", SOUNDCLOUD_ARTIST, True),
        ("https://www.soundcloud.com/some-artist", "soundcloud", SOUNDCLOUD_ARTIST, True),
        ("123", "soundcloud", SOUNDCLOUD_ARTIST, True),  # a bare id, as the config takes it
        ("soundcloud:users:123", "soundcloud", SOUNDCLOUD_ARTIST, True),
        ("soundcloud:users:12", "soundcloud", SOUNDCLOUD_ARTIST, False),
        ("12", "soundcloud", SOUNDCLOUD_ARTIST, False),
    ],
)
def test_filter_accounts_match_every_form_the_config_takes(
    written: str, platform: str, profile: Profile, matches: bool
) -> None:
    assert parse_ref(written).matches(platform, profile) is matches


def test_the_examples_signal_and_filtered_notifier_load_once_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_WEBHOOK_SECRET", SECRET)
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    head, block = text.split("# [[signal]]\n")
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    more = "".join(f'\n[[watch]]\nplatform = "audius"\naccount = "taste{n}"\n' for n in (1, 2))
    path = tmp_path / "watcher.toml"
    path.write_text(head + more + "[[signal]]\n" + uncommented + "\n", encoding="utf-8")

    loaded = load(path)

    [signal] = loaded.signal
    assert isinstance(signal, TrendingSettings)
    assert (signal.name, signal.min_accounts, signal.notify) == ("scouting", 3, ["scouts"])
    scouts = loaded.notifiers["scouts"].target_filter
    assert scouts is not None and scouts.max_followers == 10_000
    assert [ref.text for ref in scouts.exclude] == ["Audius", "https://audius.co/deadmau5"]


def test_the_config_knows_every_signal_kinds_event_type() -> None:
    assert signal_registry.event_types() == SIGNAL_TYPES
