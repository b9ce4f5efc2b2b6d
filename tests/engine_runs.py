"""What every test harness does to poll: a fresh store and engine, as `watcher once` does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from watcher.config import Config
from watcher.poll import PollReport
from watcher.runtime import Runtime
from watcher.store import Store


def run_polls(config: Config, indexes: list[int] | None = None, **engine: Any) -> list[PollReport]:
    """Poll the watches at `indexes` (all when None) with a fresh store and engine; `engine`
    holds Runtime keywords (clock, retry, transport...)."""
    store = Store.open(config.database_path)

    async def go() -> list[PollReport]:
        polls = Runtime(config, store, **engine)
        try:
            chosen = [config.watch[i] for i in indexes] if indexes is not None else None
            return await polls.poll_all(chosen)
        finally:
            await polls.aclose()

    try:
        return asyncio.run(go())
    finally:
        store.close()


def event_types(db_path: Path) -> list[tuple[str, str]]:
    """(event type, target handle) of every stored event, oldest first."""
    store = Store.open(db_path)
    try:
        return [(row.type, row.envelope()["data"]["target"]["handle"]) for row in store.events()]
    finally:
        store.close()
