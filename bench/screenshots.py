"""`python -m bench.screenshots OUTDIR`: a PNG of every dashboard page, for review.

It builds a demo database the way a month of real use would: the simulated Audius and
SoundCloud over loopback, polled once a day for 30 days (on a virtual clock) while their
accounts follow and unfollow, two tastemakers following one newcomer on the last day, a watch
of an account that does not exist, and notifiers that deliver, refuse (dead), cannot be
reached (retrying) or hold for a morning digest. Then it serves the dashboard as `watcher
serve` does and has Debian's Chromium (/usr/bin/chromium, via Playwright) save
`overview.png`, `events.png`, `account.png`, `account-followers.png`, `trending.png`,
`deliveries.png` and `login.png` (with a token) in OUTDIR.
"""

from __future__ import annotations

import asyncio
import random
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from watcher.clock import FakeClock
from watcher.config import Config, HttpSettings, parse
from watcher.runtime import Runtime
from watcher.sim.audius import AudiusSim
from watcher.sim.soundcloud import SoundCloudSim
from watcher.sinks.sink import SinkOptions
from watcher.store import Store

CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium for pages on loopback (the screenshots here, the dashboard's browser test):
# no sandbox (CI runs as root), nothing from the network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
DAYS = 30
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN = "screenshots-token-0123456789"
PAGES = {
    "overview": "/",
    "events": "/events",
    "account": "/accounts/audius/tastemaker",  # redirected to its id
    "account-followers": "/accounts/audius/rising-star?sort=followers",
    "trending": "/trending",
    "deliveries": "/deliveries",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _receivers() -> tuple[web.AppRunner, str, str]:
    """A webhook receiver that takes everything, and one that refuses everything (400)."""

    async def take(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    async def refuse(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=400, text="unknown hook")

    app = web.Application()
    app.router.add_post("/take", take)
    app.router.add_post("/refuse", refuse)
    app.router.add_post("/chat", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}", f"{host}:{port}"


def _config(database: Path, audius: str, soundcloud: str, hooks: str, chat: str) -> Config:
    tastemakers = ["tastemaker", "lowtide", "ferns", "nova_kid"]
    watches: list[dict[str, Any]] = [
        {"platform": "audius", "account": name, "notify": ["crm"]} for name in tastemakers
    ]
    watches[0]["notify"] = ["crm", "archive", "morning"]
    watches.append({"platform": "audius", "account": "rising-star", "relation": "followers"})
    watches.append({"platform": "soundcloud", "account": "night-shift-dj", "notify": ["backup"]})
    watches.append({"platform": "audius", "account": "ghost-account"})
    return parse(
        {
            "database": str(database),
            "defaults": {"interval": "1d", "jitter": 0, "confirm_after": "1m"},
            "audius": {"base_url": audius, "requests_per_second": 1000},
            "soundcloud": {
                "base_url": soundcloud,
                "token_url": f"{soundcloud}/oauth/token",
                "client_id": "sim-client-id",
                "client_secret": "sim-client-secret",
                "requests_per_second": 1000,
            },
            "notifiers": {
                "crm": {"type": "webhook", "url": f"{hooks}/take", "secret": SECRET},
                "archive": {"type": "webhook", "url": f"{hooks}/refuse", "secret": SECRET},
                "backup": {
                    "type": "webhook",
                    "url": f"http://127.0.0.1:{_free_port()}/gone",
                    "secret": SECRET,
                },
                "morning": {
                    "type": "apprise",
                    "urls": [f"json://{chat}/chat"],
                    "schedule": "daily 09:00",
                },
            },
            "signal": [{"name": "scouting", "type": "trending", "min_accounts": 2, "window": "7d"}],
            "watch": watches,
        }
    )


def _world(audius: AudiusSim, soundcloud: SoundCloudSim) -> dict[str, list[str]]:
    """The accounts and who follows whom on the first day; returns the pools churn draws on."""
    artists = audius.add_users(400, prefix="artist", base_followers=lambda i: (i * 37) % 900)
    names = {"tastemaker": "The Tastemaker", "lowtide": "Low Tide", "ferns": "Ferns"}
    rng = random.Random(7)
    for handle in ("tastemaker", "lowtide", "ferns", "nova_kid"):
        user = audius.add_user(handle, names.get(handle, "Nova Kid"), base_followers=1200)
        audius.follow_many(user, rng.sample(artists, rng.randint(60, 180)))
    star = audius.add_user("rising-star", "Rising Star", base_followers=40)
    audius.add_followers(star, rng.sample(artists, 120))
    producers = soundcloud.add_users(200, prefix="producer", base_followers=30)
    dj = soundcloud.add_user("night-shift-dj", "Night Shift DJ", base_followers=900)
    soundcloud.follow_many(dj, rng.sample(producers, 90))
    return {"artists": artists, "producers": producers}


async def _month(config: Config, clock: FakeClock, audius: AudiusSim, sc: SoundCloudSim) -> None:
    pools = _world(audius, sc)
    rng = random.Random(11)
    watched = {h: audius.id_of(h) for h in ("tastemaker", "lowtide", "ferns", "nova_kid")}
    star = audius.id_of("rising-star")
    dj = sc.urn_of("night-shift-dj")
    store = Store.open(config.database_path, sliced=True)
    runtime = Runtime(config, store, clock=clock)
    dispatcher = runtime.open_dispatcher(clock=clock, options=SinkOptions(throttle=False))
    try:
        for day in range(DAYS):
            if day:
                for user in watched.values():
                    for artist in rng.sample(pools["artists"], rng.randint(0, 3)):
                        audius.follow(user, artist)
                    if rng.random() < 0.3:
                        audius.unfollow(user, rng.choice(pools["artists"]))
                audius.add_followers(star, rng.sample(pools["artists"], rng.randint(1, 6)))
                if rng.random() < 0.5:
                    sc.follow(dj, rng.choice(pools["producers"]))
            if day == DAYS - 1:
                newcomer = audius.add_user("newcomer", "Newcomer", base_followers=812)
                for handle in ("tastemaker", "ferns", "lowtide"):
                    audius.follow(watched[handle], newcomer)
            await runtime.poll_all()
            clock.advance(120)
            await runtime.poll_all()  # the day's unfollows confirmed
            if day >= DAYS - 3:
                await dispatcher.dispatch()
            clock.advance(86_400 - 120)
    finally:
        await runtime.aclose()
        store.close()


@contextmanager
def _serving(config: Config, clock: FakeClock) -> Iterator[str]:
    from watcher.web.serving import endpoint

    served = config.model_copy(update={"http": HttpSettings(listen="127.0.0.1:0")})
    if config.http.token:
        served = config.model_copy(
            update={"http": HttpSettings(listen="127.0.0.1:0", token=config.http.token)}
        )

    async def healthy() -> tuple[bool, dict[str, Any]]:
        return True, {}

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = endpoint(lambda: served, served.database_path, clock, health=healthy, scrape=bytes)
        box["url"] = loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.close())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield str(box["url"])
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        audius, sc = AudiusSim(seed=3), SoundCloudSim(seed=3)
        clock = FakeClock(START)
        with audius.serve() as audius_url, sc.serve() as sc_url:

            async def build() -> None:
                runner, hooks, chat = await _receivers()
                try:
                    config = _config(Path(folder) / "watcher.db", audius_url, sc_url, hooks, chat)
                    await _month(config, clock, audius, sc)
                finally:
                    await runner.cleanup()

            asyncio.run(build())
            config = _config(Path(folder) / "watcher.db", audius_url, sc_url, "http://x", "x:1")
        clock.advance(-86_400 + 3 * 3600)  # mid-afternoon on the last day
        saved = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            with _serving(config, clock) as base:
                for name, path in PAGES.items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    saved.append(out / f"{name}.png")
                    page.screenshot(path=str(saved[-1]), full_page=True)
            guarded = config.model_copy(update={"http": HttpSettings(token=TOKEN)})
            with _serving(guarded, clock) as base:
                page.goto(base + "/")
                page.wait_for_load_state("networkidle")
                saved.append(out / "login.png")
                page.screenshot(path=str(saved[-1]), full_page=True)
            browser.close()
    return saved


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m bench.screenshots OUTDIR")
    for path in take(Path(sys.argv[1])):
        print(path)


if __name__ == "__main__":
    main()
