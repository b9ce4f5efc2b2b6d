"""Issue 4's guarantees, end to end: engine -> real HTTP on loopback -> simulated SoundCloud."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import store_reads
from tests.world import CLIENT_SECRET, SoundCloudWorld
from watcher.clock import iso
from watcher.config import load, parse
from watcher.errors import ConfigError
from watcher.http.retry import RetryPolicy
from watcher.platforms.soundcloud_kind import SoundCloudSettings
from watcher.runtime import Runtime
from watcher.sim.http import SimRequest
from watcher.sim.soundcloud import RateLimitShape, SoundCloudSim
from watcher.store import Store

KEY = "soundcloud:curator:following"


def unauthorized(sim: SoundCloudSim) -> list[SimRequest]:
    return [r for r in sim.requests if r.status == 401 and r.path != "/oauth/token"]


# -- events and guarantees -------------------------------------------------------------------


def test_the_first_poll_is_a_silent_baseline_costing_a_profile_and_the_pages(
    sc: SoundCloudWorld,
) -> None:
    sc.curator(450)
    sc.watch()
    report = sc.poll()
    assert report.ok and report.baseline and report.complete and report.size == 450
    # A baseline is read twice: a pass that missed someone would later report a false follow.
    assert report.passes == 2 and report.pages == 6 and report.events == []
    sc.sim.reset_log()
    quiet = sc.poll()
    assert quiet.ok and quiet.events == []
    # The profile, then three pages of 200: no token request, nothing else.
    assert sc.sim.request_count == 4
    assert sum(r.path.endswith("/followings") for r in sc.sim.requests) == 3


def test_event_bodies_use_urn_permalink_username_and_permalink_url(sc: SoundCloudWorld) -> None:
    curator, _ = sc.curator(10)
    newcomer = sc.sim.add_user("new-voice", "New Voice")
    sc.watch(account="https://soundcloud.com/curator")
    sc.poll()
    sc.sim.follow(curator, newcomer)
    (event,) = sc.poll().events
    data = event.envelope()["data"]
    assert data["platform"] == "soundcloud"
    assert data["account"] == {
        "id": curator,
        "handle": "curator",
        "name": "The Curator",
        "url": "https://soundcloud.com/curator",
    }
    target = data["target"]
    assert (target["id"], target["handle"], target["name"]) == (newcomer, "new-voice", "New Voice")
    assert target["url"] == "https://soundcloud.com/new-voice"
    assert target["id"].startswith("soundcloud:users:")


def test_with_broken_counts_an_unfollow_is_confirmed_by_the_next_poll(
    sc: SoundCloudWorld,
) -> None:
    sc.sim.counts_broken = True  # followings_count 0 for everyone, as seen live
    curator, artists = sc.curator(120)
    sc.watch()
    sc.poll()
    sc.sim.unfollow(curator, artists[7])
    assert sc.poll().events == []  # absent once, with no count to vouch for it: pending
    (event,) = sc.poll().events
    assert (event.type, event.target.handle) == ("following.removed", "artist-7")
    sc.poll()
    assert sc.event_types() == [("following.removed", "artist-7")]


def test_an_offset_in_disguise_cursor_never_yields_a_false_removal(sc: SoundCloudWorld) -> None:
    sim = sc.sim
    sim.cursor_style = "offset"  # a removal mid-read shifts the rest: one entry is skipped
    curator, artists = sc.curator(500)
    sc.watch()
    sc.poll()
    victim = artists[450]  # on the first page (newest first)

    def unfollow_before_second_page(request: SimRequest) -> None:
        if "cursor" in request.query and victim in sim.following(curator):
            sim.unfollow(curator, victim)

    sim.on_request(unfollow_before_second_page)
    for _ in range(3):
        assert sc.poll().ok
    assert sc.event_types() == [("following.removed", "artist-450")]


def test_a_vanished_account_that_comes_back_resumes_without_events(sc: SoundCloudWorld) -> None:
    curator, _ = sc.curator(80)
    sc.watch()
    sc.poll()
    sc.sim.delete(curator)
    assert not sc.poll().ok
    sc.sim.restore(curator)
    assert sc.poll().ok
    assert sc.event_types() == []


def test_an_account_vanishing_mid_poll_is_not_a_wave_of_removals(sc: SoundCloudWorld) -> None:
    sim = sc.sim
    curator, _ = sc.curator(80)
    sc.watch()
    sc.poll()

    def vanish_when_listed(request: SimRequest) -> None:
        if request.path.endswith("/followings"):
            sim.delete(curator)

    sim.on_request(vanish_when_listed)
    report = sc.poll()
    assert not report.ok and "disappeared" in (report.error or "")
    assert sc.event_types() == []


def test_an_empty_list_glitch_is_not_a_wave_of_removals(sc: SoundCloudWorld) -> None:
    sc.sim.counts_broken = True  # so the profile cannot contradict the empty list
    sc.curator(80)
    sc.watch()
    sc.poll()
    sc.sim.faults.add(
        "/followings", status=200, body='{"collection": [], "next_href": null}', times=1
    )
    glitch = sc.poll()
    assert glitch.ok and glitch.events == []
    assert sc.poll().ok
    assert sc.event_types() == []
    store = sc.store()
    try:
        row = store.watches.get(KEY)
        assert row is not None and store_reads.edge_counts(store, row.id) == {"present": 80}
    finally:
        store.close()


@pytest.mark.parametrize("trap", ["loop", "cycle", "foreign"])
def test_a_paging_chain_that_loops_or_leaves_the_host_fails_and_commits_nothing(
    sc: SoundCloudWorld, trap: str
) -> None:
    curator, artists = sc.curator(700)
    sc.watch()
    sc.poll()
    sc.sim.unfollow(curator, artists[3])
    sc.sim.paging_trap = trap  # type: ignore[assignment]
    report = sc.poll()
    assert not report.ok
    expected = {"loop": "repeats an earlier page", "cycle": "only entries already listed"}
    assert expected.get(trap, "another host (api.soundcloud.invalid)") in (report.error or "")
    assert "cursor" not in (report.error or "") and "OAuth" not in (report.error or "")
    assert sc.event_types() == []
    sc.sim.paging_trap = None
    sc.poll()  # missing once: pending
    sc.poll()  # missing again, and from a verifying pass: removed
    assert sc.event_types() == [("following.removed", "artist-3")]


def test_requests_page_by_cursor_with_limit_200_and_an_oauth_header(sc: SoundCloudWorld) -> None:
    sc.curator(450)
    sc.watch()
    sc.poll()
    sc.poll()
    listed = [r for r in sc.sim.requests if r.path.endswith("/followings")]
    assert len(listed) == 9  # a baseline of two passes, then a quiet poll of one
    assert all("offset" not in r.query for r in listed)
    assert all(
        r.query["limit"] == "200" and r.query["linked_partitioning"] == "true" for r in listed
    )
    api = [r for r in sc.sim.requests if r.path != "/oauth/token"]
    assert all(r.headers["Authorization"].startswith("OAuth ") for r in api)


# -- account forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "https://soundcloud.com/some-artist",
        "https://m.soundcloud.com/some-artist/",
        "soundcloud.com/some-artist",
        "some-artist",
        "{number}",
        "{urn}",
    ],
)
def test_every_account_form_resolves_to_the_urn_once(sc: SoundCloudWorld, form: str) -> None:
    urn = sc.sim.add_user("some-artist", "Some Artist")
    sc.watch(account=form.format(urn=urn, number=sc.sim.user(urn).id))
    assert sc.poll().ok
    sc.sim.reset_log()
    assert sc.poll().ok
    assert not any(r.path == "/resolve" for r in sc.sim.requests)
    store = sc.store()
    try:
        assert store.watches.all()[0].account_id == urn
    finally:
        store.close()


@pytest.mark.parametrize(
    "account",
    ["nobody-here", "https://soundcloud.com/some-artist/a-track", "https://example.com/x"],
)
def test_an_unknown_account_or_a_non_profile_url_fails_naming_it(
    sc: SoundCloudWorld, account: str
) -> None:
    sc.sim.add_user("some-artist")
    sc.watch(account=account)
    report = sc.poll()
    assert not report.ok and account in (report.error or "")


# -- tokens ----------------------------------------------------------------------------------


def test_one_token_serves_every_poll_and_every_engine(sc: SoundCloudWorld) -> None:
    sc.curator(30)
    sc.watch()
    sc.watch(relation="followers")
    for _ in range(6):  # half an hour of `watcher once` every five minutes, two watches each
        assert all(r.ok for r in sc.poll_all())
    assert sc.sim.token_requests == 1
    store = sc.store()
    try:
        token = store.tokens.get("soundcloud")
        assert token is not None and token.grants == 1
    finally:
        store.close()


def test_the_token_is_refreshed_shortly_before_it_expires(sc: SoundCloudWorld) -> None:
    sc.curator(30)
    sc.watch()
    for _ in range(11):  # 55 minutes: the first token still has over five minutes left
        assert sc.poll().ok
    assert sc.sim.tokens.grants == {"client_credentials": 1}
    assert sc.poll().ok  # at 55 min: inside the renewal margin
    assert sc.sim.tokens.grants == {"client_credentials": 1, "refresh_token": 1}
    assert unauthorized(sc.sim) == []
    for _ in range(11):
        assert sc.poll().ok
    assert sc.sim.tokens.grants == {"client_credentials": 1, "refresh_token": 2}


def test_a_token_the_platform_expired_early_is_refreshed_once_after_a_401(
    sc: SoundCloudWorld,
) -> None:
    sc.curator(30)
    sc.watch()
    sc.poll()
    for _ in range(3):  # the newest refresh token is always the one kept
        sc.sim.expire_tokens()
        assert sc.poll().ok
    assert sc.sim.tokens.grants == {"client_credentials": 1, "refresh_token": 3}
    assert len(unauthorized(sc.sim)) == 3


def test_a_revoked_token_is_replaced_by_a_new_grant(sc: SoundCloudWorld) -> None:
    curator, artists = sc.curator(30)
    sc.watch()
    sc.poll()
    sc.sim.revoke_tokens()  # the refresh token too
    sc.sim.unfollow(curator, artists[0])
    assert sc.poll().ok  # the token is replaced; the unfollow is pending
    report = sc.poll()
    assert report.ok and [e.type for e in report.events] == ["following.removed"]
    # The refused refresh, then a new client-credentials grant.
    assert sc.sim.token_requests == 3
    assert sc.sim.tokens.grants == {"client_credentials": 2}


def test_a_token_refused_twice_fails_the_poll_without_showing_it(sc: SoundCloudWorld) -> None:
    sc.curator(5)
    sc.watch()
    sc.sim.tokens.lifetime = 0  # every token is dead on arrival
    report = sc.poll()
    assert not report.ok and "refused" in (report.error or "")
    assert sc.sim.token_requests == 2
    store = sc.store()
    try:
        token = store.tokens.get("soundcloud")
        assert token is not None and token.access_token not in (report.error or "")
        assert repr(token).count(token.access_token) == 0
    finally:
        store.close()


def test_wrong_credentials_fail_every_watch_with_one_token_request(
    sc: SoundCloudWorld,
) -> None:
    sc.curator(5)
    sc.watch()
    sc.watch(relation="followers")
    sc.settings["client_secret"] = "not-the-secret"
    reports = sc.poll_all()
    assert [r.ok for r in reports] == [False, False]
    for report in reports:
        assert "check client_id and client_secret" in (report.error or "")
        assert "not-the-secret" not in (report.error or "") and CLIENT_SECRET not in (
            report.error or ""
        )
    assert sc.sim.token_requests == 1


def test_the_token_ration_running_out_fails_clearly(sc: SoundCloudWorld) -> None:
    sc.curator(5)
    sc.watch()
    sc.sim.tokens.limit = 0
    report = sc.poll()
    assert not report.ok and "rationed" in (report.error or "")


def test_engines_starting_together_share_one_token_request(sc: SoundCloudWorld) -> None:
    sc.curator(40)
    sc.watch()
    config = sc.config()
    stores = [Store.open(config.database_path) for _ in range(3)]

    async def go() -> list[bool]:
        engines = [
            Runtime(config, s, clock=sc.clock, retry=RetryPolicy.immediate(2)) for s in stores
        ]
        try:
            reports = await asyncio.gather(*(e.poll(config.watch[0]) for e in engines))
            return [r.ok for r in reports]
        finally:
            for engine in engines:
                await engine.aclose()

    try:
        assert asyncio.run(go()) == [True, True, True]
    finally:
        for store in stores:
            store.close()
    assert sc.sim.token_requests == 1


def test_a_lease_left_by_a_dead_process_runs_out(sc: SoundCloudWorld) -> None:
    sc.curator(5)
    sc.watch()
    store = sc.store()
    past = iso(sc.clock.now())
    assert store.tokens.claim_lease("soundcloud", "dead-process", past, past)
    store.close()
    assert sc.poll().ok
    assert sc.sim.token_requests == 1


# -- rate limits -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["code", "error", "text"])
def test_rate_limits_back_off_honouring_a_usable_retry_after(
    sc: SoundCloudWorld, shape: RateLimitShape
) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    sc.retry = RetryPolicy(attempts=4, base_delay=1.0, max_delay=30.0, sleep=record)
    sc.curator(450)
    sc.watch()
    sc.poll()
    sc.sim.rate_limit("/followings", shape=shape, times=1, headers={"Retry-After": "7"})
    sc.sim.rate_limit("/followings", shape=shape, times=1, after=1, headers={"Retry-After": "soon"})
    report = sc.poll()
    assert report.ok and report.size == 450
    assert slept[0] == 7.0
    # The retry's own 429, with a nonsense header: the second back-off step from the 429
    # floor (5 s, doubled, jittered), not from the 1 s of other failures.
    assert 5.0 <= slept[1] <= 10.0


def test_a_persistent_429_fails_the_poll_after_a_bounded_number_of_tries(
    sc: SoundCloudWorld,
) -> None:
    sc.curator(30)
    sc.watch()
    sc.poll()
    sc.sim.rate_limit("/followings", shape="error", times=None)
    sc.sim.reset_log()
    report = sc.poll()
    assert (
        not report.ok
        and "HTTP 429" in (report.error or "")
        and "Rate Limit" in (report.error or "")
    )
    assert sum(r.path.endswith("/followings") for r in sc.sim.requests) == 2  # the attempts


# -- configuration and processes ---------------------------------------------------------------


def test_a_soundcloud_watch_without_credentials_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOUNDCLOUD_CLIENT_ID", raising=False)
    monkeypatch.delenv("SOUNDCLOUD_CLIENT_SECRET", raising=False)
    raw = {"watch": [{"platform": "soundcloud", "account": "someone"}]}
    with pytest.raises(ConfigError) as error:
        parse(raw)
    message = str(error.value)
    assert "soundcloud.client_id and soundcloud.client_secret" in message
    assert "SOUNDCLOUD_CLIENT_ID" in message and "\n" not in message
    monkeypatch.setenv("SOUNDCLOUD_CLIENT_ID", "id-from-env")
    monkeypatch.setenv("SOUNDCLOUD_CLIENT_SECRET", "secret-from-env")
    config = parse(raw)
    soundcloud = config.section("soundcloud", SoundCloudSettings)
    assert (soundcloud.client_id, soundcloud.client_secret) == (
        "id-from-env",
        "secret-from-env",
    )


def _write_config(sc: SoundCloudWorld, folder: Path) -> Path:
    sc.watch()
    return sc.write_config(folder / "watcher.toml", database="w.db")


def _once(config: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOUNDCLOUD_")}
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", "once", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_three_watcher_once_processes_in_a_row_ask_for_one_token(
    sc: SoundCloudWorld, tmp_path: Path
) -> None:
    sc.curator(250)
    config = _write_config(sc, tmp_path)
    for _ in range(3):
        process = _once(config)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "ok soundcloud curator following: 250 entries" in out
    assert sc.sim.token_requests == 1


def test_three_watcher_once_processes_at_once_ask_for_one_token(
    sc: SoundCloudWorld, tmp_path: Path
) -> None:
    sc.curator(250)
    config = _write_config(sc, tmp_path)
    processes = [_once(config) for _ in range(3)]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    assert sc.sim.token_requests == 1


def test_the_example_config_with_its_soundcloud_watch_enabled_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parent.parent
    text = (root / "config.example.toml").read_text(encoding="utf-8")
    enabled = text.replace(
        '# [[watch]]\n# platform = "soundcloud"', '[[watch]]\nplatform = "soundcloud"'
    )
    enabled = enabled.replace(
        '# account = "https://soundcloud.com/some-artist"',
        'account = "https://soundcloud.com/some-artist"',
    )
    enabled = enabled.replace('# relation = "following"', 'relation = "following"')
    assert enabled != text
    path = tmp_path / "watcher.toml"
    path.write_text(enabled, encoding="utf-8")
    monkeypatch.setenv("CRM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    monkeypatch.setenv("SOUNDCLOUD_CLIENT_ID", "an-id")
    monkeypatch.setenv("SOUNDCLOUD_CLIENT_SECRET", "a-secret")
    config = load(path)
    (watch,) = [w for w in config.watch if w.platform == "soundcloud"]
    assert watch.account == "https://soundcloud.com/some-artist"
    assert config.platform_settings("soundcloud").requests_per_second == 5
    assert config.platform_settings("audius").requests_per_second == 10
    monkeypatch.delenv("SOUNDCLOUD_CLIENT_SECRET")
    with pytest.raises(ConfigError, match=r"soundcloud\.client_secret"):
        load(path)


def test_401s_that_a_new_token_does_not_cure_stop_costing_token_requests(
    sc: SoundCloudWorld,
) -> None:
    sc.curator(30)
    sc.watch()
    sc.poll()
    sc.sim.faults.add("/followings", status=401, times=None)  # refused whatever the token
    first = sc.poll()
    assert not first.ok and "a new token was refused too" in (first.error or "")
    assert sc.sim.token_requests == 2  # the grant, then one renewal
    for _ in range(5):  # 25 minutes of polls: each fails at once, none asks for a token
        report = sc.poll()
        assert not report.ok and "not asking for another" in (report.error or "")
    assert sc.sim.token_requests == 2
    sc.poll()  # half an hour on, a 401 may renew again (once)
    assert sc.sim.token_requests == 3
    sc.sim.faults.clear()
    assert sc.poll().ok
    assert sc.sim.token_requests == 3
