"""Which notifiers an event goes to: the one place routing is decided."""

from __future__ import annotations

from collections.abc import Iterable

from watcher.config import Config, Watch
from watcher.store import Route


def routes(config: Config, watch: Watch) -> list[Route]:
    """The watch's notifiers, each with the event types and targets it asked for and where it
    holds them for a digest."""
    return notifier_routes(config, watch.notify)


def notifier_routes(config: Config, names: Iterable[str]) -> list[Route]:
    """The named notifiers (a watch's or a signal's `notify`), each with the event types it
    asked for (None: all), its target filter (None: every target) and where it holds them for
    a digest (its schedule and quiet hours; None: it never does)."""
    found: list[Route] = []
    for name in names:
        notifier = config.notifiers[name]
        wanted = notifier.events
        types = frozenset(wanted) if wanted is not None else None
        found.append(Route(name, types, notifier.target_filter, notifier.hold()))
    return found
