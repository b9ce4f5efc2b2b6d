"""The ACCOUNT resolver: every form the config accepts finds the watch covering it, on both
platforms, against databases built by real polls of the simulators; an account no watch
covers is one line naming the watched accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.commands import run_watcher
from tests.world import AudiusWorld, SoundCloudWorld, toml
from watcher.account_lookup import AccountLookup, AccountNotWatched
from watcher.config import parse


def lookup(world: AudiusWorld | SoundCloudWorld) -> AccountLookup:
    store = world.store()
    try:
        return AccountLookup(world.config().watch, store)
    finally:
        store.close()


def polled_audius(audius: AudiusWorld, configured: str) -> tuple[str, str]:
    """`curator` (following 3 artists) watched as `configured` (`{id}` stands for its id),
    beside a watch of another account; both polled. Returns the id and the configured text."""
    curator, _ = audius.curator(3)
    other = audius.sim.add_user("someone_else", "Someone Else")
    audius.sim.follow(other, curator)
    configured = configured.format(id=curator)
    audius.watch(configured)
    audius.watch("someone_else")
    assert all(report.ok for report in audius.poll_all())
    return curator, configured


AUDIUS_FORMS = [
    "curator",
    "@curator",
    "CURATOR",
    "@Curator",
    "  curator ",
    "{id}",
    "https://audius.co/curator",
    "audius.co/curator",
    "https://www.audius.co/Curator/",
    "{configured}",
]


@pytest.mark.parametrize("configured", ["https://audius.co/curator", "{id}", "@curator"])
@pytest.mark.parametrize("form", AUDIUS_FORMS)
def test_every_audius_form_finds_the_watch_however_it_is_configured(
    audius: AudiusWorld, configured: str, form: str
) -> None:
    curator, configured = polled_audius(audius, configured)
    typed = form.format(id=curator, configured=configured)

    found = lookup(audius).watches_of(typed)

    assert [w.watch.account for w in found] == [configured]
    assert found[0].account_id == curator and found[0].shown == "curator"


def test_an_audius_id_matches_only_once_a_poll_stored_it(audius: AudiusWorld) -> None:
    curator, _ = audius.curator(2)
    audius.watch("https://audius.co/curator")
    before = AccountLookup(audius.config().watch)  # no database yet: the config alone

    assert before.watch_of("@curator").watch.account == "https://audius.co/curator"
    with pytest.raises(AccountNotWatched, match="no watch covers"):
        before.watch_of(curator)
    assert audius.poll().ok
    assert lookup(audius).watch_of(curator).watch.account == "https://audius.co/curator"


SOUNDCLOUD_FORMS = [
    "curator",
    "Curator",
    "@curator",
    "https://soundcloud.com/curator",
    "soundcloud.com/curator",
    "https://m.soundcloud.com/curator/",
    "{urn}",
    "{number}",
    "{link}",
    "{bare_link}",
    "{link}?si=abc",
]


@pytest.mark.parametrize("configured", ["{link}", "https://soundcloud.com/curator", "{urn}"])
@pytest.mark.parametrize("form", SOUNDCLOUD_FORMS)
def test_every_soundcloud_form_finds_the_watch_however_it_is_configured(
    sc: SoundCloudWorld, configured: str, form: str
) -> None:
    curator, _ = sc.curator(3)
    sc.sim.add_user("someone-else")
    link = sc.sim.share_link("curator")
    values = {
        "urn": curator,
        "number": curator.rsplit(":", 1)[1],
        "link": link,
        "bare_link": link.removeprefix("https://"),
    }
    configured_as, configured = configured, configured.format(**values)
    sc.watch(configured)
    sc.watch("someone-else")
    assert all(report.ok for report in sc.poll_all())

    typed = form.format(**values)

    if "link" in form and "link" not in configured_as:
        # A share link names its account only through /resolve: offline, it matches a watch
        # configured with that link, never one configured otherwise.
        with pytest.raises(AccountNotWatched, match="no watch covers"):
            lookup(sc).watches_of(typed)
        return
    found = lookup(sc).watches_of(typed)
    assert [w.watch.account for w in found] == [configured]
    assert found[0].account_id == curator and found[0].shown == "curator"


def test_a_share_link_matches_literally_until_a_poll_resolves_it(sc: SoundCloudWorld) -> None:
    sc.curator(2)
    link = sc.sim.share_link("curator")
    sc.watch(link)
    before = AccountLookup(sc.config().watch)

    assert before.watch_of(link).shown == link  # no handle known yet: as configured
    assert before.watch_of(link.removeprefix("https://")).watch.account == link
    with pytest.raises(AccountNotWatched):
        before.watch_of("curator")  # offline, nothing says whom the link names
    assert sc.poll().ok
    assert lookup(sc).watch_of("curator").watch.account == link


def test_an_account_watched_for_both_relations_is_chosen_by_relation(
    audius: AudiusWorld,
) -> None:
    polled_audius(audius, "curator")
    audius.watch("https://audius.co/curator", relation="followers")
    audius.watch("someone_else", relation="followers")
    assert all(report.ok for report in audius.poll_all())
    found = lookup(audius)

    assert [w.watch.relation for w in found.watches_of("@curator")] == ["following", "followers"]
    assert found.watch_of("@curator").watch.relation == "following"  # the default
    chosen = found.watch_of("curator", "followers")
    assert (chosen.watch.account, chosen.watch.relation) == (
        "https://audius.co/curator",
        "followers",
    )


def test_an_account_watched_for_one_relation_is_that_watch_unless_another_is_asked(
    audius: AudiusWorld,
) -> None:
    audius.curator(1)
    audius.watch("curator", relation="followers")
    assert audius.poll().ok
    found = lookup(audius)

    assert found.watch_of("curator").watch.relation == "followers"
    with pytest.raises(AccountNotWatched) as refused:
        found.watch_of("curator", "following")
    assert str(refused.value) == (
        "no watch covers the following of 'curator' (it is watched for followers only;"
        ' add a [[watch]] with relation = "following")'
    )


def both_platforms(watches: list[dict[str, Any]]) -> Any:
    return parse(
        {
            "database": "unused.db",
            "audius": {"base_url": "http://127.0.0.1:9/v1"},
            "soundcloud": {"client_id": "an-id", "client_secret": "a-secret"},
            "watch": watches,
        }
    ).watch


def test_a_handle_on_two_platforms_must_be_told_apart_by_url() -> None:
    watches = both_platforms(
        [
            {"platform": "audius", "account": "deadmau5"},
            {"platform": "soundcloud", "account": "deadmau5"},
        ]
    )
    found = AccountLookup(watches)

    assert len(found.watches_of("deadmau5")) == 2
    with pytest.raises(AccountNotWatched, match="names more than one watched account"):
        found.watch_of("deadmau5")
    assert found.watch_of("https://soundcloud.com/deadmau5").watch.platform == "soundcloud"
    assert found.watch_of("audius.co/deadmau5").watch.platform == "audius"


@pytest.mark.parametrize(
    "typed", ["nobody", "", "   ", "https://audius.co/", "soundcloud.com/a/b", "@", "audius.co"]
)
def test_text_no_watch_covers_is_refused_naming_the_watched_accounts(typed: str) -> None:
    watches = both_platforms(
        [
            {"platform": "audius", "account": "some-artist"},
            {"platform": "soundcloud", "account": "deadmau5"},
            {"platform": "soundcloud", "account": "deadmau5", "relation": "followers"},
            {"platform": "audius", "account": "Audius"},
        ]
    )

    with pytest.raises(AccountNotWatched) as refused:
        AccountLookup(watches).watches_of(typed)
    assert str(refused.value) == (
        f"no watch covers '{typed}' (watched: Audius, deadmau5, some-artist)"
    )


def test_the_unwatched_account_error_is_one_line_exit_1_with_handles_once_known(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    # Both are accounts of the simulated Audius's seeded world.
    audius.watch("https://audius.co/Audius")  # shown by its handle once polled
    audius.watch("deadmau5")
    audius.watch("deadmau5", relation="followers")
    audius.watch("some-artist")  # never found: shown as configured
    audius.poll_all()
    config = audius.write_config(tmp_path / "watcher.toml")

    result = run_watcher(config, "events", "--account", "nobody")
    hostile = run_watcher(config, "events", "--account", "no\x1b[2Jbody\u202e")

    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "watcher: no watch covers 'nobody' (watched: Audius, deadmau5, some-artist)\n"
    )
    assert hostile.returncode == 1
    assert hostile.stderr.startswith("watcher: no watch covers 'no\\x1b[2Jbody\\u202e' (")
    assert len(hostile.stderr.splitlines()) == 1


def test_a_config_without_watches_says_so(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(toml({"database": "w.db"}), encoding="utf-8")

    result = run_watcher(config, "events", "--account", "x")

    assert result.returncode == 1
    assert result.stderr == "watcher: no watch covers 'x' (the config has no [[watch]])\n"
