"""Which notifiers an event of a watch goes to: the one place routing is decided."""

from __future__ import annotations

from watcher.config import Config, Watch
from watcher.store import Route


def routes(config: Config, watch: Watch) -> list[Route]:
    """The watch's notifiers, each with the event types it asked for (None: all) and where
    it holds them for a digest (its schedule and quiet hours)."""
    found: list[Route] = []
    for name in watch.notify:
        settings = config.notifiers[name]
        wanted = settings.events
        types = frozenset(wanted) if wanted is not None else None
        found.append(Route(name, types, settings.hold()))
    return found
