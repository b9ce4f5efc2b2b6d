"""Platform kinds by name, so a new platform is a new module, not new branches elsewhere."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


# The built-in platforms and the module that registers each. Known by name without importing
# them (their HTTP stack is the heaviest import watcher has): config validation and the
# reading commands stay cheap; a module is imported when its first client is made.
BUILTIN = {"audius": "watcher.platforms.audius", "soundcloud": "watcher.platforms.soundcloud"}


def names() -> list[str]:
    return sorted(set(BUILTIN) | set(_FACTORIES))


def create(name: str, context: PlatformContext) -> Platform:
    if name not in _FACTORIES and name in BUILTIN:
        importlib.import_module(BUILTIN[name])  # importing it registers its factory
    return _FACTORIES[name](context)


def profile_hosts(name: str) -> frozenset[str]:
    """The hosts of `name`'s profile pages, as its module declares them (`PROFILE_HOSTS`);
    empty for a platform watcher does not know."""
    if name not in BUILTIN:
        return frozenset()
    module = importlib.import_module(BUILTIN[name])
    return frozenset(getattr(module, "PROFILE_HOSTS", ()))
