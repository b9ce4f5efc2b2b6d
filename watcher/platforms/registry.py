"""Platform kinds by name, so a new platform is a new module, not new branches elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watcher.budget import RequestBudget
    from watcher.clock import Clock
    from watcher.config import Config
    from watcher.direct_http import Requester
    from watcher.platforms.base import Platform
    from watcher.retry import RetryPolicy
    from watcher.store import Store


@dataclass(frozen=True)
class PlatformContext:
    """What a platform client may use: its settings, a shared HTTP client, the store (tokens),
    the clock (token expiry) and the platform's request budget, which every one of its
    requests must pass through."""

    config: Config
    http: Requester
    store: Store
    retry: RetryPolicy
    clock: Clock
    budget: RequestBudget


Factory = Callable[[PlatformContext], "Platform"]
_FACTORIES: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def decorate(factory: Factory) -> Factory:
        _FACTORIES[name] = factory
        return factory

    return decorate


def _load_builtin() -> None:
    # Importing the modules registers them; kept lazy so config validation stays cheap.
    from watcher.platforms import audius, soundcloud  # noqa: F401


def names() -> list[str]:
    _load_builtin()
    return sorted(_FACTORIES)


def create(name: str, context: PlatformContext) -> Platform:
    _load_builtin()
    return _FACTORIES[name](context)
