"""Which notifiers an event of a watch goes to: the one place routing is decided."""

from __future__ import annotations

from watcher.config import Config, Watch
from watcher.store import Route


def routes(config: Config, watch: Watch) -> list[Route]:
    """The watch's notifiers, each with the event types it asked for (None: all)."""
    found: list[Route] = []
    for name in watch.notify:
        wanted = config.notifiers[name].events
        found.append(Route(name, frozenset(wanted) if wanted is not None else None))
    return found
