"""The web routes served for real on 127.0.0.1, from a thread with an event loop of its own,
so a test polls the world (each poll in `asyncio.run`) and reads the routes over HTTP in turn,
as a user's feed reader does while watcher runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from aiohttp import web

from tests.world import World
from watcher.web.testing import feeds_app


@contextmanager
def served(app: web.Application) -> Iterator[httpx.Client]:
    """`app` listening on a free loopback port; a client whose base URL reaches it."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)

    async def start() -> str:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        base_url = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
        with httpx.Client(base_url=base_url, timeout=10) as client:
            yield client
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@contextmanager
def feeds_of(world: World[Any]) -> Iterator[httpx.Client]:
    """The feeds and JSON API of `world`'s database, timed by its clock."""
    with served(feeds_app(world.config(), world.clock)) as client:
        yield client
