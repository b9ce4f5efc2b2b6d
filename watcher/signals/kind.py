"""What every signal kind provides: its `[[signal]]` table, the rule a poll evaluates, its
event type and its chat message. `signals/registry.py` finds kinds by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from watcher.target_filter_settings import TargetFilterSettings

if TYPE_CHECKING:
    from watcher.config import Config, Watch
    from watcher.sinks.renderers import Renderer
    from watcher.store import SignalRule


class WatchLike(Protocol):
    """A configured watch as a signal's settings see it (config.Watch)."""

    @property
    def platform(self) -> str: ...

    @property
    def account(self) -> str: ...

    @property
    def relation(self) -> str: ...

    @property
    def key(self) -> str: ...


class SignalSettings(TargetFilterSettings):
    """One `[[signal]]` table. Each kind declares its fields; these every kind has. The
    target filter's keys (`max_target_followers`, ...) restrict which targets may signal."""

    if TYPE_CHECKING:
        type: str  # the kind's name, which picks the model
        name: str  # unique among signals; shown in messages
        notify: list[str]  # names of [notifiers.*]

    def problem_with(self, watches: Sequence[WatchLike]) -> str | None:
        """Why this signal cannot work with the configured watches (None: it can)."""
        return None


# Title and body of a signal's chat message, from its envelope, written by a service's
# renderer (sinks/renderers.py).
Message = Callable[[dict[str, Any], "Renderer"], tuple[str, str]]


@dataclass(frozen=True)
class SignalKind:
    """What a kind's module declares."""

    name: str
    event_type: str  # the type of the events it records, such as "signal.trending"
    settings: type[SignalSettings]
    # The rule to evaluate in a poll of `watch`, or None when the signal does not count it.
    rule: Callable[[SignalSettings, Config, Watch], SignalRule | None]
    message: Message
