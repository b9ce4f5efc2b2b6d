"""Whatever a platform sends, and whatever goes wrong inside a poll, is that watch's failed
poll: one line, recorded, counted toward alerts; the other watches and the deliveries go on."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.receiver import Receiver
from tests.world import AudiusWorld, World
from watcher.clock import FakeClock
from watcher.http.retry import RetryPolicy
from watcher.runtime import Runtime
from watcher.sim.audius import AudiusSim
from watcher.sim.soundcloud import SoundCloudSim
from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent
DEEP = b'{"data":[{"id":"a1","handle":"h","name":' + b"[" * 200_000 + b"]" * 200_000 + b"}]}"


def huge_count_page(sim: AudiusSim, user: str) -> bytes:
    return (
        b'{"data":[{"id":"' + user.encode() + b'","handle":"h","name":"n",'
        b'"follower_count":1' + b"0" * 400 + b',"followee_count":0}]}'
    )


@pytest.mark.parametrize("body", ["huge count", "deep JSON"])
def test_a_hostile_page_fails_only_its_watch_and_the_others_deliver(
    tmp_path: Path, body: str
) -> None:
    sim = AudiusSim(seed=4)
    curator, scout = sim.add_user("curator"), sim.add_user("scout")
    artists = sim.add_users(5, prefix="artist")
    sim.follow_many(curator, artists[:3])
    sim.follow_many(scout, artists[:3])
    with sim.serve() as base_url, Receiver() as hook:
        config = tmp_path / "watcher.toml"
        config.write_text(
            'database = "w.db"\n[defaults]\nconfirm_after = "0s"\n'
            f'[audius]\nbase_url = "{base_url}"\n'
            f'[notifiers.crm]\ntype = "webhook"\nurl = "{hook.url("/h")}"\n'
            'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n'
            '[[watch]]\nplatform = "audius"\naccount = "curator"\nnotify = ["crm"]\n'
            '[[watch]]\nplatform = "audius"\naccount = "scout"\nnotify = ["crm"]\n',
            encoding="utf-8",
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "watcher", "once", "--config", str(config)]
        assert subprocess.run(command, env=env, capture_output=True).returncode == 0
        sim.follow(scout, artists[4])
        hostile = huge_count_page(sim, artists[0]) if body == "huge count" else DEEP
        sim.faults.add(f"/users/{curator}/following", status=200, body=hostile, times=None)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (failure,) = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    reason = "a count out of range" if body == "huge count" else "malformed JSON body"
    assert failure.startswith("FAILED audius curator following:") and reason in failure
    assert "ok audius scout following" in result.stdout  # the other watch polled...
    delivered = [r.json() for r in hook.requests]
    assert [e["type"] for e in delivered] == ["following.added"]  # ...and its event went out


class Exploding(httpx.AsyncBaseTransport):
    """A transport that fails the way a library bug would: not with an HTTP error."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise OverflowError("int too large to convert to C int")


def test_an_unexpected_exception_is_a_recorded_failed_poll(
    audius: AudiusWorld,
) -> None:
    audius.sim.add_user("curator")
    audius.watches.append({"platform": "audius", "account": "curator"})
    config, store = audius.config(), audius.store()

    async def poll_twice() -> list[str | None]:
        engine = Runtime(
            config, store, clock=audius.clock, retry=RetryPolicy.immediate(2),
            transport=Exploding(),
        )  # fmt: skip
        try:
            errors = []
            for _ in range(2):
                (report,) = await engine.poll_all()
                assert not report.ok
                errors.append(report.error)
                audius.clock.advance(60)
            return errors
        finally:
            await engine.aclose()

    try:
        errors = asyncio.run(poll_twice())
        (row,) = store.watches.all()
    finally:
        store.close()
    assert errors == ["unexpected OverflowError: int too large to convert to C int"] * 2
    assert row.last_outcome == "error" and row.consecutive_failures == 2
    assert row.last_error == errors[0]


def test_a_token_with_a_line_break_is_refused_and_an_absurd_lifetime_is_capped(
    tmp_path: Path,
) -> None:
    sim = SoundCloudSim(seed=2)
    sim.add_user("curator")
    with sim.serve() as base_url:
        audius = World(sim, base_url, tmp_path / "w.db", FakeClock())
        audius.watch("curator")
        sim.faults.add(
            "/oauth/token",
            status=200,
            body='{"access_token": "tok-12345\\r\\nX-Injected: 1", "expires_in": 3600}',
        )
        refused = audius.poll()
        sim.tokens.lifetime = float("inf")  # answered as `"expires_in": Infinity`
        first = audius.poll()
        audius.clock.advance(3 * 86_400)
        second = audius.poll()
        grants = sum(1 for r in sim.requests if r.path == "/oauth/token")
        store = Store.open(audius.db_path)
        try:
            token = store.tokens.get("soundcloud")
        finally:
            store.close()
    assert not refused.ok and "cannot be sent in a header" in (refused.error or "")
    assert first.ok and second.ok
    assert grants == 2  # the refused one and the capped one: the second poll reused it
    assert token is not None and token.expires_at == "2026-11-29T12:05:00Z"  # 7 days on
