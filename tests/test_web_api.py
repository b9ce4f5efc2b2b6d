"""The JSON API over real HTTP, against databases filled by real polls: `/api/events` walks
the whole log once, in order, page by page, and carries on where a receiver stopped; its
envelopes are the bytes webhooks carried; `/api/watches` says what `status --json` says."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.commands import run_watcher
from tests.receiver import Receiver
from tests.web import feeds_of
from tests.world import AudiusWorld, World, curator_following, verified_by
from watcher.sim.audius import AudiusSim


def walk(client: httpx.Client, after: str | None, rng: random.Random) -> list[dict[str, Any]]:
    """What a receiver does to catch up: pages of random sizes, following `next` until it is
    null. Every page is checked on the way: full while `next` is set, `next` its last id."""
    caught: list[dict[str, Any]] = []
    while True:
        limit = rng.randint(1, 7)
        params = {"limit": str(limit), **({"after": after} if after else {})}
        answer = client.get("/api/events", params=params)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        page = answer.json()
        assert set(page) == {"events", "next"}
        caught += page["events"]
        if page["next"] is None:
            assert len(page["events"]) <= limit
            return caught
        assert len(page["events"]) == limit and page["next"] == page["events"][-1]["id"]
        after = page["next"]


def churn(
    world: AudiusWorld, curator: str, artists: list[str], followed: set[str], rng: random.Random
) -> None:
    """Six random artists followed or unfollowed by the curator (whichever changes
    something), then polled twice: the unfollows confirm."""
    for artist in rng.sample(artists, 6):
        if artist in followed:
            world.sim.unfollow(curator, artist)
            followed.discard(artist)
        else:
            world.sim.follow(curator, artist)
            followed.add(artist)
    world.poll()
    world.poll()


def stored_ids(world: World[Any]) -> list[str]:
    store = world.store()
    try:
        return [row.id for row in store.events.find()]
    finally:
        store.close()


@pytest.mark.parametrize("seed", [3, 17, 29])
def test_paging_walks_every_event_once_in_order_and_catches_up_after_more_arrive(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    sim = AudiusSim(seed=seed, replicas=3)
    with sim.serve() as base_url:
        world = World(sim, base_url, tmp_path / "watcher.db")
        world.watch("curator")
        curator, artists = curator_following(world)
        followed = set(artists[:20])
        world.poll()
        for _ in range(4):
            churn(world, curator, artists, followed, rng)

        with feeds_of(world) as client:
            first = walk(client, None, rng)
            again = walk(client, None, rng)
            before = stored_ids(world)
            for _ in range(2):  # the receiver is down while more events are recorded
                churn(world, curator, artists, followed, rng)
            rest = walk(client, first[-1]["id"], rng)
            nothing = walk(client, rest[-1]["id"], rng)

    every = stored_ids(world)
    assert len(before) == 4 * 6 and len(every) == 6 * 6
    assert [e["id"] for e in first] == before  # once each, in the log's order
    assert again == first
    assert [e["id"] for e in rest] == every[len(before) :]
    assert nothing == []


def test_the_envelopes_are_the_bytes_a_webhook_receiver_got(outbox: AudiusWorld) -> None:
    with Receiver(verified_by()) as receiver:
        outbox.webhook("crm", receiver.url("/hook"))
        outbox.watch("curator", "crm")
        curator, artists = curator_following(outbox, count=5)
        outbox.poll()
        outbox.sim.follow_many(curator, artists[30:33])
        outbox.sim.unfollow(curator, artists[0])
        outbox.poll()
        outbox.poll()
        assert outbox.dispatch().count("delivered") == 4

        with feeds_of(outbox) as client:
            answer = client.get("/api/events")

    posted = [request.body for request in receiver.requests]
    assert receiver.rejections == [] and len(posted) == 4
    assert all(body in answer.content for body in posted)  # byte for byte
    assert answer.json() == {"events": [json.loads(body) for body in posted], "next": None}


def test_an_empty_log_and_a_caught_up_receiver_get_an_empty_page(audius: AudiusWorld) -> None:
    audius.watch("curator")
    curator, artists = curator_following(audius)
    audius.poll()

    with feeds_of(audius) as client:
        empty = client.get("/api/events").json()
        audius.sim.follow(curator, artists[30])
        audius.poll()
        (event,) = client.get("/api/events", params={"after": ""}).json()["events"]
        caught_up = client.get("/api/events", params={"after": event["id"]}).json()

    assert empty == caught_up == {"events": [], "next": None}


def test_a_bad_limit_or_an_unknown_after_is_a_400_with_a_json_error(audius: AudiusWorld) -> None:
    audius.watch("curator")
    curator_following(audius)
    audius.poll()

    with feeds_of(audius) as client:
        answers = {
            (key, value): client.get("/api/events", params={key: value})
            for key, value in (
                ("limit", "0"),
                ("limit", "-3"),
                ("limit", "ten"),
                ("limit", "1001"),
                ("limit", "\u0663"),
                ("after", "evt_NOSUCHEVENT"),
                ("after", "<script>\x00"),
            )
        }

    for (key, value), answer in answers.items():
        assert answer.status_code == 400, (key, value)
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        expected = (
            f"limit must be a whole number from 1 to 1000 (got {value!r})"
            if key == "limit"
            else f"after: no event has the id {value!r}"
        )
        assert answer.json() == {"error": expected}


def test_api_watches_says_what_status_json_says(outbox: AudiusWorld, tmp_path: Path) -> None:
    with Receiver() as receiver:
        outbox.webhook("crm", receiver.url("/hook"))
        outbox.watch("curator", "crm")
        outbox.watch("curator", relation="followers")
        outbox.watch("never-polled")
        curator, artists = curator_following(outbox)
        outbox.poll_all([0, 1])
        outbox.sim.follow(curator, artists[30])
        outbox.poll(0)  # one delivery pending for crm
        config = outbox.write_config(tmp_path / "watcher.toml")
        status = run_watcher(config, "status", "--json")

        with feeds_of(outbox) as client:
            served = client.get("/api/watches").json()

    assert status.returncode == 0, status.stderr
    lines = [json.loads(line) for line in status.stdout.splitlines()]
    assert served["watches"] == [line for line in lines if "notifier" not in line]
    assert served["notifiers"] == [line for line in lines if "notifier" in line]
    assert [w["outcome"] for w in served["watches"]] == ["ok", "ok", None]
    assert served["notifiers"][0]["pending"] == 1
