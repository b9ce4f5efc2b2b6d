"""Platform kinds by name, so a new platform is a new module, not new branches elsewhere."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from watcher.platforms.kind import PlatformKind

if TYPE_CHECKING:
    from watcher.clock import Clock
    from watcher.config import Config
    from watcher.http.json_client import JsonClient
    from watcher.platforms.base import Platform
    from watcher.store import Store


@dataclass(frozen=True)
class PlatformContext:
    """What a platform client may use: its settings, its HTTP client (the platform's request
    budget, retry policy and metrics already composed around every request), the store
    (tokens) and the clock (token expiry)."""

    config: Config
    http: JsonClient
    store: Store
    clock: Clock


Factory = Callable[[PlatformContext], "Platform"]
_FACTORIES: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def decorate(factory: Factory) -> Factory:
        _FACTORIES[name] = factory
        return factory

    return decorate


# The built-in platforms and the kind module that declares each (its section, its facts and
# its client's module). Known by name without importing the clients (their HTTP stack is the
# heaviest import watcher has): config validation, messages and the reading commands stay
# cheap; a client's module is imported when its first client is made.
BUILTIN = {
    "audius": "watcher.platforms.audius_kind",
    "soundcloud": "watcher.platforms.soundcloud_kind",
}


def names() -> list[str]:
    return sorted(set(BUILTIN) | set(_FACTORIES))


@functools.cache
def kind(name: str) -> PlatformKind:
    """What platform `name` declares (its kind module's `KIND`); KeyError for an unknown one."""
    found: PlatformKind = importlib.import_module(BUILTIN[name]).KIND
    return found


def create(name: str, context: PlatformContext) -> Platform:
    if name not in _FACTORIES and name in BUILTIN:
        importlib.import_module(kind(name).client)  # importing it registers its factory
    return _FACTORIES[name](context)


def profile_hosts(name: str) -> frozenset[str]:
    """The hosts of `name`'s profile pages, as its kind declares them; empty for a platform
    watcher does not know."""
    return kind(name).profile_hosts if name in BUILTIN else frozenset()


def display_name(name: str) -> str:
    """How messages name platform `name` (`SoundCloud`); a platform watcher does not know is
    named as it is spelled, capitalised."""
    return kind(name).display_name if name in BUILTIN else name.capitalize()
